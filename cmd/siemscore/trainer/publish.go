package trainer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/siemscore/siemscore/elastic/modelstore"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/train"
)

// publishAttempts bounds the versions tried while other trainers keep taking them.
const publishAttempts = 5

// Publish gives a training result the next version, after both the newest version in the index
// and after (which may be nil), validates the bundle and stores it in the index. When another
// trainer takes that version first, it takes the next one. It returns the bundle and its bytes.
func Publish(ctx context.Context, index *modelstore.Index, res *train.Result, after *bundle.Bundle, key []byte) (*bundle.Bundle, []byte, error) {
	var taken error
	for range publishAttempts {
		latest, err := index.Latest(ctx)
		if err != nil {
			return nil, nil, err
		}
		if after != nil && after.Version().Compare(latest) > 0 {
			latest = after.Version()
		}
		v, err := bundle.NextVersion(latest, time.Now())
		if err != nil {
			return nil, nil, err
		}
		b, err := res.At(v)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", train.ErrInvalid, err)
		}
		data, err := train.Validate(b, key)
		if err != nil {
			return nil, nil, err
		}
		_, err = index.Put(ctx, b.Header(), data)
		if err == nil {
			return b, data, nil
		}
		if !errors.Is(err, modelstore.ErrExists) {
			return nil, nil, err
		}
		taken, after = err, b
	}
	return nil, nil, fmt.Errorf("trainer: publish: every version tried was taken: %w", taken)
}
