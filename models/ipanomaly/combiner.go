package ipanomaly

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"gonum.org/v1/gonum/optimize"
)

// example is one training example of the combiner: the active bin of every group, the label
// (1: anomalous) and the weight.
type example struct {
	idx [numGroups]int32
	y   float32
	w   float32
}

// combiner is the learned part: bias + Σ weight[active bin of each group] is the log-odds that
// a pair is anomalous.
type combiner struct {
	bias float64
	w    []float64 // numWeights
}

func (c *combiner) logit(idx *[numGroups]int32) float64 {
	z := c.bias
	for _, i := range idx {
		z += c.w[i]
	}
	return z
}

// prior returns the weights a model with no data scores with: the baselines' ranking, the
// more of the address the principal's own history shares the more familiar, its account's
// and co-users' history counting half as much. IPv6 is read by its allocation levels: outside
// every /32 the history knows is another ISP's network, more foreign than any IPv4 address,
// whose blocks NAT, CGNAT and transfers scatter across the Internet.
func prior() []float64 {
	w := make([]float64, numWeights)
	lcpPrior := func(g int, scale float64) {
		for b := range 33 { // IPv4
			w[groupOff[g]+b] = scale * 1.5 * (1 - float64(b)/32)
		}
		w[groupOff[g]+v4NoHistory] = scale * 1.5
		for b := range 18 { // IPv6, 4 bits a bin up to the /64, then the /64 and the address
			v := 0.0
			switch lcp := 4 * b; {
			case lcp < 32:
				v = 2
			case lcp < 48:
				v = 1
			case lcp < 64:
				v = 0.5
			}
			w[groupOff[g]+v6Bin0+b] = scale * v
		}
		w[groupOff[g]+v6NoHistory] = scale * 2
		w[groupOff[g]+lcpBins] = scale / 2 // none
	}
	lcpPrior(gOwn, 2)
	lcpPrior(gAcct, 1)
	lcpPrior(gGroup, 1)
	// A new address in a known network means less where the principal used many addresses
	// (DHCP leases, privacy addresses): a quarter of a log-odds unit per doubling.
	for _, c := range []int{coarseBin(false, v4NetBits), coarseBin(false, v4Bits-1), coarseBin(true, v6NetBits)} {
		for b := range excBins {
			w[groupOff[gOwnExc]+c*excBins+b] = -excPriorSlope * float64(b)
		}
	}
	return w
}

// excPriorSlope is the prior's weight per doubling of the addresses a principal used in a
// network (see prior).
const excPriorSlope = 0.25

// smoothPairs lists the pairs of neighbouring bins whose weights Smoothness ties together.
var smoothPairs = func() [][2]int32 {
	var out [][2]int32
	chain := func(from, n int) {
		for i := range n - 1 {
			out = append(out, [2]int32{int32(from + i), int32(from + i + 1)})
		}
	}
	for _, g := range []int{gOwn, gAcct, gGroup} {
		chain(groupOff[g], 33)    // IPv4 LCP 0..32
		chain(groupOff[g]+33, 18) // IPv6
	}
	for _, g := range []int{gNet, gBlock} {
		for set := range 8 {
			chain(groupOff[g]+set*countBins, countBins)
		}
	}
	chain(groupOff[gOwnDist], 33)
	chain(groupOff[gOwnDist]+33, 17)
	chain(groupOff[gAff], affBins)
	chain(groupOff[gAff]+affBins, affBins)
	chain(groupOff[gNov], novBins)
	chain(groupOff[gEvents], eventBins)
	for c := range coarseBins { // own×excursions: along the count, and along the LCP among other networks and among known ones
		chain(groupOff[gOwnExc]+c*excBins, excBins)
		if c != v4Near-1 && c != v6Far0-1 && c != v6Near-1 && c != coarseBins-1 {
			for n := range excBins {
				out = append(out, [2]int32{int32(groupOff[gOwnExc] + c*excBins + n), int32(groupOff[gOwnExc] + (c+1)*excBins + n)})
			}
		}
	}
	return out
}()

// fitCombiner fits the weights by penalised maximum likelihood (L-BFGS, gonum/optimize): the
// weighted logistic loss of the examples, plus Prior·Σ(w − prior)² and Smoothness·Σ over
// neighbouring bins (w_a − w_b)², both in units of examples. With no examples it returns the
// prior. Examples with the same bins and label are merged first (many are: the bins are
// coarse), and the loss is summed over a fixed number of chunks in parallel, then in chunk
// order, so the result does not depend on the number of cores.
func fitCombiner(ex []example, cfg *Config) (*combiner, error) {
	w0 := prior()
	ex = mergeExamples(ex)
	var total float64
	for i := range ex {
		total += float64(ex[i].w)
	}
	if len(ex) == 0 || total == 0 {
		return &combiner{w: w0}, nil
	}
	n := numWeights
	priorK, smoothK := cfg.Prior/total, cfg.Smoothness/total
	var (
		lastX    []float64
		lastF    float64
		lastGrad = make([]float64, n+1)
		parts    [fitChunks]struct {
			f    float64
			grad []float64
		}
	)
	for c := range parts {
		parts[c].grad = make([]float64, n+1)
	}
	eval := func(x []float64) {
		if lastX != nil && slices.Equal(lastX, x) {
			return
		}
		lastX = append(lastX[:0], x...)
		w, bias := x[:n], x[n]
		var wg sync.WaitGroup
		for c := range parts {
			wg.Go(func() {
				part := &parts[c]
				part.f = 0
				clear(part.grad)
				for i := c * len(ex) / fitChunks; i < (c+1)*len(ex)/fitChunks; i++ {
					e := &ex[i]
					z := bias
					for _, j := range e.idx {
						z += w[j]
					}
					// softplus(z) − y·z, stably; its derivative is σ(z) − y.
					ez := math.Exp(-math.Abs(z))
					sp := max(z, 0) + math.Log1p(ez)
					sig := 1 / (1 + ez)
					if z < 0 {
						sig = ez / (1 + ez)
					}
					ew := float64(e.w) / total
					part.f += ew * (sp - float64(e.y)*z)
					d := ew * (sig - float64(e.y))
					part.grad[n] += d
					for _, j := range e.idx {
						part.grad[j] += d
					}
				}
			})
		}
		wg.Wait()
		var f float64
		clear(lastGrad)
		for c := range parts {
			f += parts[c].f
			for j, g := range parts[c].grad {
				lastGrad[j] += g
			}
		}
		for j := range n {
			d := w[j] - w0[j]
			f += priorK * d * d
			lastGrad[j] += 2 * priorK * d
		}
		for _, p := range smoothPairs {
			d := w[p[0]] - w[p[1]]
			f += smoothK * d * d
			lastGrad[p[0]] += 2 * smoothK * d
			lastGrad[p[1]] -= 2 * smoothK * d
		}
		lastF = f
	}
	problem := optimize.Problem{
		Func: func(x []float64) float64 { eval(x); return lastF },
		Grad: func(grad, x []float64) { eval(x); copy(grad, lastGrad) },
	}
	x0 := append(slices.Clone(w0), 0)
	res, err := optimize.Minimize(problem, x0, &optimize.Settings{
		GradientThreshold: 1e-7,
		MajorIterations:   400,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-7, Iterations: 10},
	}, &optimize.LBFGS{})
	if err != nil && !errors.Is(err, optimize.ErrLinesearcherFailure) {
		return nil, fmt.Errorf("ipanomaly: fitting the combiner: %w", err)
	}
	if res == nil {
		return nil, errors.New("ipanomaly: fitting the combiner gave no result")
	}
	x := res.X
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("ipanomaly: fitting the combiner diverged")
		}
	}
	return &combiner{bias: x[n], w: slices.Clone(x[:n])}, nil
}

// fitChunks is the fixed number of slices the loss is summed over.
const fitChunks = 8

// mergeExamples sorts the examples and merges those with the same bins and label, summing
// their weights.
func mergeExamples(ex []example) []example {
	ex = slices.Clone(ex)
	slices.SortFunc(ex, func(a, b example) int {
		if c := cmp.Compare(a.y, b.y); c != 0 {
			return c
		}
		return slices.Compare(a.idx[:], b.idx[:])
	})
	out := ex[:0]
	for _, e := range ex {
		if k := len(out) - 1; k >= 0 && out[k].y == e.y && out[k].idx == e.idx {
			out[k].w += e.w
			continue
		}
		out = append(out, e)
	}
	return out
}
