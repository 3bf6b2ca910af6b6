package ipanomaly

import (
	"cmp"
	"math/rand/v2"
	"slices"

	"github.com/cespare/xxhash/v2"
	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/community"
	"gonum.org/v1/gonum/graph/iterator"
	"gonum.org/v1/gonum/graph/simple"
)

// coUserGroups partitions the principals 0..n-1 into groups of co-users: principals that share
// networks (IPv4 /24, IPv6 /64) more with each other than with the rest. It returns each
// principal's group (-1 for a principal that shares no network) and the number of groups.
//
// The principals form a weighted graph: every network its users share spreads one unit of
// weight over each user's links (1/(u−1) per pair for u users, the resource-allocation index),
// so a network shared by two people ties them as strongly as an office ties its forty, and a
// carrier's CGNAT pool used by hundreds from everywhere ties nobody much. A network with more
// than maxClique users links each to maxClique neighbours on a ring in hashed order instead of
// all of them (the same weight per user, a linear number of edges). Louvain modularity
// clustering (gonum) then cuts the graph where it is sparse: organisations tied by offices and
// VPN pools, across the occasional shared ISP or hotel network.
func coUserGroups(n int, obs []owned, maxClique int, seed uint64) (group []int32, groups int) {
	type use struct {
		net uint64
		p   int32
	}
	uses := make([]use, 0, len(obs))
	for _, o := range obs {
		net := uint64(o.k.v4>>8) | 1<<63 // IPv4 /24s and IPv6 /64s in one key space
		if o.k.v6 {
			net = o.k.a6.hi &^ (1 << 63)
		}
		uses = append(uses, use{net, o.owner})
	}
	slices.SortFunc(uses, func(a, b use) int { return cmp.Or(cmp.Compare(a.net, b.net), cmp.Compare(a.p, b.p)) })
	uses = slices.Compact(uses)

	type edge struct {
		a, b int32
		w    float64
	}
	var edges []edge
	link := func(a, b int32, w float64) {
		if a > b {
			a, b = b, a
		}
		edges = append(edges, edge{a, b, w})
	}
	var users []int32
	for i := 0; i < len(uses); {
		j := i
		users = users[:0]
		for ; j < len(uses) && uses[j].net == uses[i].net; j++ {
			users = append(users, uses[j].p)
		}
		i = j
		u := len(users)
		switch {
		case u < 2:
		case u <= maxClique:
			w := 1 / float64(u-1)
			for x := range users {
				for _, b := range users[x+1:] {
					link(users[x], b, w)
				}
			}
		default:
			ring := slices.Clone(users)
			slices.SortFunc(ring, func(a, b int32) int { return cmp.Compare(ringKey(seed, a), ringKey(seed, b)) })
			w := 1 / float64(maxClique)
			for x := range ring {
				for d := 1; d <= maxClique/2; d++ {
					link(ring[x], ring[(x+d)%u], w)
				}
			}
		}
	}
	slices.SortFunc(edges, func(x, y edge) int { return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b)) })
	g := sortedGraph{simple.NewWeightedUndirectedGraph(0, 0)}
	for i := 0; i < len(edges); {
		e := edges[i]
		for i++; i < len(edges) && edges[i].a == e.a && edges[i].b == e.b; i++ {
			e.w += edges[i].w
		}
		if e.a == e.b {
			continue
		}
		g.SetWeightedEdge(g.NewWeightedEdge(simple.Node(e.a), simple.Node(e.b), e.w))
	}
	group = make([]int32, n)
	for i := range group {
		group[i] = -1
	}
	if g.Nodes().Len() == 0 {
		return group, 0
	}
	comms := community.Modularize(g, 1, rand.NewPCG(seed, 0xc0)).Communities()
	// Number the groups by their smallest member, so the numbering does not depend on the
	// clustering's internal order.
	for _, c := range comms {
		slices.SortFunc(c, func(a, b graph.Node) int { return cmp.Compare(a.ID(), b.ID()) })
	}
	slices.SortFunc(comms, func(a, b []graph.Node) int { return cmp.Compare(a[0].ID(), b[0].ID()) })
	for _, c := range comms {
		if len(c) < 2 {
			continue
		}
		for _, nd := range c {
			group[nd.ID()] = int32(groups)
		}
		groups++
	}
	return group, groups
}

func ringKey(seed uint64, p int32) uint64 {
	var b [12]byte
	for i := range 8 {
		b[i] = byte(seed >> (8 * i))
	}
	for i := range 4 {
		b[8+i] = byte(p >> (8 * i))
	}
	return xxhash.Sum64(b[:])
}

// sortedGraph lists nodes and neighbours in ID order: gonum's simple graphs iterate maps, and
// Louvain's floating-point sums, hence its result, would follow that order from run to run.
type sortedGraph struct {
	*simple.WeightedUndirectedGraph
}

func (g sortedGraph) Nodes() graph.Nodes { return sortNodes(g.WeightedUndirectedGraph.Nodes()) }

func (g sortedGraph) From(id int64) graph.Nodes {
	return sortNodes(g.WeightedUndirectedGraph.From(id))
}

func sortNodes(it graph.Nodes) graph.Nodes {
	nodes := graph.NodesOf(it)
	slices.SortFunc(nodes, func(a, b graph.Node) int { return cmp.Compare(a.ID(), b.ID()) })
	return iterator.NewOrderedNodes(nodes)
}
