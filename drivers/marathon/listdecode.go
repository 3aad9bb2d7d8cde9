package marathon

import (
	"runtime"
	"strconv"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"
)

// listBatch is how many apps a worker of a listDecoder decodes at a time:
// enough that handing a batch over costs little beside decoding it.
const listBatch = 64

// listDecoder decodes the apps of a list, in order, on as many goroutines
// as there are cores. Its owner calls add with each app's JSON as a scan
// finds it, then wait, which returns once every worker has stopped.
type listDecoder struct {
	root, role string
	todo       chan *appBatch
	// free holds the data buffers of batches decoded, for the batches to
	// come: a buffer grown anew for each batch made three times the
	// garbage and took twice as long (BenchmarkDecode10k).
	free    chan []byte
	wg      sync.WaitGroup
	batches []*appBatch // in list order; each written by its worker only
	cur     *appBatch
	n       int // apps added
}

// appBatch is a run of consecutive apps of a list: their JSON, one after
// another in data (app i ends at ends[i]), and, once decoded, those
// whose id names a group, or the first error.
type appBatch struct {
	first int // index in the list of the batch's first app
	data  []byte
	ends  []int
	apps  []App
	err   error
}

func newListDecoder(root, role string) *listDecoder {
	workers := runtime.GOMAXPROCS(0)
	d := &listDecoder{root: root, role: role,
		todo: make(chan *appBatch, 2*workers), free: make(chan []byte, 3*workers)}
	for range workers {
		d.wg.Go(func() {
			for b := range d.todo {
				d.decode(b)
			}
		})
	}
	return d
}

// add takes the JSON of the next app, which it copies.
func (d *listDecoder) add(v []byte) error {
	if d.cur == nil {
		d.cur = &appBatch{first: d.n, ends: make([]int, 0, listBatch)}
		select {
		case d.cur.data = <-d.free:
		default:
		}
	}
	b := d.cur
	b.data = append(b.data, v...)
	b.ends = append(b.ends, len(b.data))
	d.n++
	if len(b.ends) == listBatch {
		d.flush()
	}
	return nil
}

func (d *listDecoder) flush() {
	if d.cur != nil {
		d.batches = append(d.batches, d.cur)
		d.todo <- d.cur
		d.cur = nil
	}
}

// wait hands over the last batch, waits for the workers and returns the
// apps in list order, or the error of the first app that did not decode.
func (d *listDecoder) wait() ([]App, error) {
	d.flush()
	close(d.todo)
	d.wg.Wait()
	total := 0
	for _, b := range d.batches {
		if b.err != nil {
			return nil, b.err
		}
		total += len(b.apps)
	}
	apps := make([]App, 0, total)
	for _, b := range d.batches {
		apps = append(apps, b.apps...)
	}
	return apps, nil
}

func (d *listDecoder) decode(b *appBatch) {
	b.apps = make([]App, 0, len(b.ends))
	start := 0
	for i, end := range b.ends {
		var j appJSON
		if err := jsonv2.Unmarshal(b.data[start:end], &j, decodeOptions); err != nil {
			b.err = within(err, "/apps/"+strconv.Itoa(b.first+i))
			break
		}
		if a, ok := toApp(d.root, d.role, &j); ok {
			b.apps = append(b.apps, a)
		}
		start = end
	}
	select {
	case d.free <- b.data[:0]:
	default:
	}
	b.data, b.ends = nil, nil
}
