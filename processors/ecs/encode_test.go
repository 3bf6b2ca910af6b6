package ecs

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestMarshalTypedAndPassthrough(t *testing.T) {
	d := &Document{
		Timestamp: time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC),
		ECS:       ECSInfo{Version: Version},
		Event:     Event{Kind: "event", Action: "ConsoleLogin", RiskScoreNorm: Float(0)},
		Source:    &Endpoint{Address: "AWS Internal"},
		SiemScore: SiemScore{Model: ModelInfo{Status: ModelUntrained}},
		Passthrough: map[string]any{
			"kubernetes": map[string]any{"pod": "a"},
			"event":      "collides",
		},
	}
	b, err := d.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	if got["@timestamp"] != "2024-05-06T07:08:09.123456789Z" {
		t.Errorf("@timestamp = %v", got["@timestamp"])
	}
	ev := got["event"].(map[string]any)
	if ev["risk_score_norm"] != 0.0 {
		t.Errorf("a set zero risk score must be encoded, got event=%v", ev)
	}
	if _, ok := ev["risk_score"]; ok {
		t.Errorf("an unset risk score must be omitted, got event=%v", ev)
	}
	src := got["source"].(map[string]any)
	if _, ok := src["ip"]; ok {
		t.Errorf("a non-IP source address must not produce source.ip: %v", src)
	}
	if got["kubernetes"].(map[string]any)["pod"] != "a" {
		t.Errorf("passthrough field lost: %s", b)
	}
	if got[CollisionKey].(map[string]any)["event"] != "collides" {
		t.Errorf("colliding passthrough key must move under %s: %s", CollisionKey, b)
	}
	issues := got["siemscore"].(map[string]any)["issues"].([]any)
	if len(issues) != 1 || issues[0] != IssuePassthroughCollision+":event" {
		t.Errorf("issues = %v", issues)
	}
}

func TestOptValues(t *testing.T) {
	d := &Document{SiemScore: SiemScore{IP: IPScore{Score: Float(math.NaN()), ScoreNorm: Float(12.5)}}}
	b, err := d.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("NaN must not break JSON: %s: %v", b, err)
	}
	ip := got["siemscore"].(map[string]any)["ip"].(map[string]any)
	if ip["score"] != nil || ip["score_norm"] != 12.5 {
		t.Errorf("ip = %v", ip)
	}
	for _, tc := range []struct {
		in   OptBool
		want string
	}{{Bool(false), "false"}, {Bool(true), "true"}} {
		b, _ := tc.in.MarshalJSON()
		if string(b) != tc.want {
			t.Errorf("%v -> %s", tc.in, b)
		}
	}
	if SeverityBand(75) != SeverityCritical || SeverityBand(2.99) != SeverityLow || SeverityBand(3) != SeverityWarning {
		t.Error("severity bands off")
	}
}
