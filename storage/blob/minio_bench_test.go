package blob_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/fieldops/fieldops/internal/proccpu"
	"github.com/fieldops/fieldops/storage/blob"
)

// BenchmarkMinIOCompletionReads: what a completion asks of MinIO, 100 at once as when a
// crowd of phones syncs, over 100 stored 4 MB photos: the stat with the checksum and the
// read of the first 96 KiB. Reported: MinIO's CPU per request (from /proc), with the
// store client keeping 16 idle connections (minio-go's default per host) or 256 (ours).
//
//	go test ./storage/blob/ -run '^$' -bench MinIOCompletionReads -benchtime 20x -count 3
func BenchmarkMinIOCompletionReads(b *testing.B) {
	ctx := context.Background()
	m, o := newMinIOStore(b)
	const photos = 100
	data := randomBytes(b, 4<<20)
	keys := make([]string, photos)
	for i := range keys {
		keys[i] = fmt.Sprintf("attachments/bench-%03d/original", i)
		data[0] = byte(i)
		if err := m.Put(ctx, keys[i], bytes.NewReader(data), int64(len(data)), "image/jpeg"); err != nil {
			b.Fatal(err)
		}
	}
	for _, idle := range []int{16, 256} {
		o := o
		o.MaxIdleConns = idle
		s, err := blob.NewMinIO(o)
		if err != nil {
			b.Fatal(err)
		}
		ops := map[string]func(key string) error{
			"stat": func(key string) error { _, err := s.Stat(ctx, key); return err },
			"first-96KiB": func(key string) error {
				head, err := s.ReadRange(ctx, key, 0, 96<<10)
				if err == nil && len(head) != 96<<10 {
					err = fmt.Errorf("read %d bytes", len(head))
				}
				return err
			},
		}
		for _, name := range []string{"stat", "first-96KiB"} {
			op := ops[name]
			b.Run(fmt.Sprintf("%s/idle-%d", name, idle), func(b *testing.B) {
				cpu := proccpu.Start()
				for b.Loop() {
					var wg sync.WaitGroup
					errs := make(chan error, photos)
					for _, key := range keys {
						wg.Go(func() {
							if err := op(key); err != nil {
								errs <- err
							}
						})
					}
					wg.Wait()
					close(errs)
					for err := range errs {
						b.Fatal(err)
					}
				}
				used := cpu.MS()
				n := float64(b.N * photos)
				b.ReportMetric(used["minio"]/n, "cpu-ms-minio/req")
				b.ReportMetric(used["test"]/n, "cpu-ms-test/req")
				b.ReportMetric(b.Elapsed().Seconds()*1e3/n, "ms/req")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
