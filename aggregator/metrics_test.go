package aggregator

import (
	"reflect"
	"testing"

	"github.com/doraflow/doraflow/delivery"
)

func TestPartitionLag(t *testing.T) {
	at := func(partition int, offset, hwm int64) delivery.Fetched {
		return delivery.Fetched{Position: delivery.Position{Partition: partition, Offset: offset, HighWaterMark: hwm}}
	}
	msgs := []delivery.Fetched{
		at(0, 4, 10),
		at(1, 7, 8),  // the last record of partition 1
		at(0, 5, 12), // more arrived meanwhile: 12 - 6
		at(2, 3, 0),  // no high-water mark known
	}
	want := map[int]int64{0: 6, 1: 0, 2: 0}
	if got := partitionLag(msgs); !reflect.DeepEqual(got, want) {
		t.Fatalf("partitionLag = %v, want %v", got, want)
	}
}
