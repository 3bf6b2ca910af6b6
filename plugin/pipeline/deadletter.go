package pipeline

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	json "github.com/goccy/go-json"

	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/processors/digest"
	"github.com/siemscore/siemscore/processors/ecs"
)

// DecodeErrorType is error.type of the dead letter for input that is not a log event.
const DecodeErrorType = "decode_error"

// deadLetterWriter writes input that never became a record to the dead-letter data stream, in
// the document shape elastic/deliver uses for the records Elasticsearch refuses (so one index
// template and one Kibana view serve both). elastic/deliver has no entry point for input
// without a record, hence this one bulk request; it needs no per-item retry of its own, since
// any failure makes the whole flush RETRY and the deterministic _id makes the re-send harmless.
type deadLetterWriter struct {
	es         esapi.Transport
	index      string
	dataStream ecs.DataStream
}

func newDeadLetterWriter(es esapi.Transport, index, namespace string) *deadLetterWriter {
	w := &deadLetterWriter{es: es, index: index}
	if index == target.DeadLetter(namespace) {
		w.dataStream = ecs.DataStream{Type: "logs", Dataset: target.DeadLetterDataset, Namespace: namespace}
	}
	return w
}

// doc builds the dead-letter document and its _id. The bytes are kept whole, base64-encoded:
// they are not valid msgpack, or not a log event, so no rendering of them would be faithful.
func (w *deadLetterWriter) doc(l DeadLetter) (id string, body []byte, err error) {
	d := deliver.DeadLetterDoc{
		Timestamp:  l.Time,
		DataStream: w.dataStream,
		Event:      deliver.DeadLetterEvent{Kind: "pipeline_error", Dataset: target.DeadLetterDataset},
		Error: ecs.Error{
			Type:    DecodeErrorType,
			Message: l.Reason + " (Fluent Bit tag " + l.Tag + "; siemscore.deadletter.original holds the bytes, base64-encoded msgpack)",
		},
	}
	d.SiemScore.DeadLetter = deliver.DeadLetter{
		Kind:     ecs.KindGeneric.String(),
		Original: base64.StdEncoding.EncodeToString(l.Raw),
	}
	// The same bytes with the same reason (a chunk Fluent Bit sends again, or two instances
	// sharing the dead-letter stream) make one document.
	id = digest.ID(uint8(ecs.KindGeneric), digest.Key{DecodeErrorType, l.Reason}, l.Raw)
	d.SiemScore.DeadLetter.ID = id
	body, err = json.Marshal(d)
	return id, body, err
}

// Write sends the dead letters and returns nil once Elasticsearch holds every one of them.
func (w *deadLetterWriter) Write(ctx context.Context, letters []DeadLetter) error {
	var buf bytes.Buffer
	ids := make([]string, len(letters))
	for i, l := range letters {
		id, body, err := w.doc(l)
		if err != nil {
			return fmt.Errorf("dead letter: encode: %w", err)
		}
		ids[i] = id
		meta, _ := json.Marshal(map[string]map[string]string{"create": {"_index": w.index, "_id": id}})
		buf.Write(meta)
		buf.WriteByte('\n')
		buf.Write(body)
		buf.WriteByte('\n')
	}
	res, err := esapi.BulkRequest{Body: &buf, FilterPath: []string{"items.*._id", "items.*.status", "items.*.error"}}.Do(ctx, w.es)
	if err != nil {
		return fmt.Errorf("dead letter: bulk request: %w", err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}()
	if res.IsError() {
		snippet, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("dead letter: bulk request: HTTP %d: %s", res.StatusCode, bytes.TrimSpace(snippet))
	}
	var br struct {
		Items []struct {
			Create *struct {
				ID     string          `json:"_id"`
				Status int             `json:"status"`
				Error  json.RawMessage `json:"error"`
			} `json:"create"`
		} `json:"items"`
	}
	if err := json.NewDecoder(res.Body).Decode(&br); err != nil {
		return fmt.Errorf("dead letter: bulk response: %w", err)
	}
	if len(br.Items) != len(letters) {
		return fmt.Errorf("dead letter: bulk response has %d items for %d dead letters", len(br.Items), len(letters))
	}
	for i, it := range br.Items {
		switch {
		case it.Create == nil || it.Create.ID != ids[i]:
			return fmt.Errorf("dead letter: bulk response item %d does not match the request", i)
		case it.Create.Status == http.StatusCreated || it.Create.Status == http.StatusOK || it.Create.Status == http.StatusConflict:
		default:
			return fmt.Errorf("dead letter: %s refused the dead letter with HTTP %d %s", w.index, it.Create.Status, it.Create.Error)
		}
	}
	return nil
}
