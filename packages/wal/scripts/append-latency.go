// append-latency: the disk alone, for the WAL's write path (README "Durability", preallocation):
// successive appends of -n bytes into a fresh 64 MB file, each made durable, by mode:
//
//	sparse-dsync      ftruncate to 64 MB, pwrite through an O_DSYNC descriptor (tsraft without zero-ahead)
//	za-M              as sparse-dsync, but when an append would come within 256 KiB of the zeroed
//	                  end, M MiB of zeros are written first and that append is write + fdatasync
//	                  (tsraft's zero-ahead, zeroAheadBytes = M MiB)
//	zeroed-dsync      the whole file written with zeros and synced first, then O_DSYNC pwrites
//	falloc-fdatasync  fallocate, then write + fdatasync (etcd's Save)
//	falloc-dsync, sparse-fdatasync
//
// Prints per mode the mean, median and 90th percentile microseconds per append. Standard library
// only:
//
//	go run packages/wal/scripts/append-latency.go -dir DIR -n 131072 -count 480 -modes sparse-dsync,za-1
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

const segmentBytes = 64 << 20

func main() {
	n := flag.Int("n", 128*1024, "bytes per append")
	count := flag.Int("count", 400, "appends per mode (count*n must stay under 64 MB)")
	dir := flag.String("dir", ".", "directory for the test file (the disk to measure)")
	modes := flag.String("modes", "sparse-dsync,za-1,zeroed-dsync,falloc-fdatasync", "comma-separated modes")
	flag.Parse()
	buf := make([]byte, *n)
	for i := range buf {
		buf[i] = 0x61
	}
	for _, mode := range strings.Split(*modes, ",") {
		fmt.Println(run(mode, filepath.Join(*dir, "append-latency-"+mode), buf, *count))
	}
}

func run(mode, path string, buf []byte, count int) string {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	must(err)
	defer os.Remove(path)
	defer f.Close()
	za := 0
	if strings.HasPrefix(mode, "za-") {
		_, err := fmt.Sscanf(mode, "za-%d", &za)
		must(err)
	}
	switch {
	case mode == "sparse-dsync" || mode == "sparse-fdatasync" || za > 0:
		must(f.Truncate(segmentBytes))
	case mode == "falloc-fdatasync" || mode == "falloc-dsync":
		must(syscall.Fallocate(int(f.Fd()), 0, 0, segmentBytes))
	case mode == "zeroed-dsync":
		z := make([]byte, 1<<20)
		for off := 0; off < segmentBytes; off += len(z) {
			_, err := f.WriteAt(z, int64(off))
			must(err)
		}
	default:
		panic("unknown mode " + mode)
	}
	must(f.Sync())
	dsync := f
	if strings.HasSuffix(mode, "-dsync") || za > 0 {
		dsync, err = os.OpenFile(path, os.O_RDWR|syscall.O_DSYNC, 0o600)
		must(err)
		defer dsync.Close()
	}
	zeros := make([]byte, za<<20)
	zeroedTo := int64(0)
	lat := make([]float64, 0, count)
	off := int64(0)
	start := time.Now()
	for i := 0; i < count; i++ {
		t0 := time.Now()
		if za > 0 && zeroedTo < off+int64(len(buf))+256<<10 {
			from := zeroedTo
			if from < off {
				from = off
			}
			_, err := f.WriteAt(zeros, from)
			must(err)
			zeroedTo = from + int64(len(zeros))
			_, err = f.WriteAt(buf, off)
			must(err)
			must(syscall.Fdatasync(int(f.Fd())))
		} else {
			_, err := dsync.WriteAt(buf, off)
			must(err)
			if dsync == f {
				must(syscall.Fdatasync(int(f.Fd())))
			}
		}
		lat = append(lat, float64(time.Since(t0).Microseconds()))
		off += int64(len(buf))
	}
	mean := time.Since(start).Seconds() * 1e6 / float64(count)
	sort.Float64s(lat)
	return fmt.Sprintf(`{"mode":%q,"n":%d,"meanUs":%.0f,"p50":%.0f,"p90":%.0f}`, mode, len(buf), mean, lat[len(lat)/2], lat[len(lat)*9/10])
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
