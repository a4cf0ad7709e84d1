package aggregator

import (
	"reflect"
	"testing"

	"github.com/segmentio/kafka-go"
)

func TestPartitionLag(t *testing.T) {
	msgs := []kafka.Message{
		{Partition: 0, Offset: 4, HighWaterMark: 10},
		{Partition: 1, Offset: 7, HighWaterMark: 8},  // the last record of partition 1
		{Partition: 0, Offset: 5, HighWaterMark: 12}, // more arrived meanwhile: 12 - 6
		{Partition: 2, Offset: 3, HighWaterMark: 0},  // no high-water mark known
	}
	want := map[int]int64{0: 6, 1: 0, 2: 0}
	if got := partitionLag(msgs); !reflect.DeepEqual(got, want) {
		t.Fatalf("partitionLag = %v, want %v", got, want)
	}
}
