package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/store/storetest"
)

func rawDelivery(source, id, at string) delivery.Delivery {
	return delivery.Delivery{
		Source: source, Event: "push", ID: id, ReceivedAt: ts(at), Key: "acme/shop",
		Payload: []byte(fmt.Sprintf(`{"id":%q,"text":"it's \u00e9"}`, id)),
	}
}

func collect(t *testing.T, fn func(func(delivery.Delivery) error) error) []delivery.Delivery {
	t.Helper()
	var out []delivery.Delivery
	if err := fn(func(d delivery.Delivery) error { out = append(out, d); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCountRawDedupsRedeliveries(t *testing.T) {
	st := storetest.New(t)
	ctx := testCtx(t)
	a := rawDelivery("github", "a", "2026-03-01T10:00:00Z")
	b := rawDelivery("github", "b", "2026-03-01T10:00:01Z")
	c := rawDelivery("gitlab", "a", "2026-03-01T09:00:00Z") // same id, other source
	if err := st.WriteRaw(ctx, []delivery.Delivery{a, b, c}); err != nil {
		t.Fatal(err)
	}
	// Redelivered: once through Kafka again (same reception), once by the
	// source a month later.
	late := a
	late.ReceivedAt = ts("2026-04-05T00:00:00Z")
	if err := st.WriteRaw(ctx, []delivery.Delivery{a, late}); err != nil {
		t.Fatal(err)
	}
	n, err := st.CountRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("CountRaw = %d, want 3", n)
	}
}

func TestRawDeliveriesStreamsInReceivedOrderOnce(t *testing.T) {
	st := storetest.New(t)
	ctx := testCtx(t)
	d1 := rawDelivery("github", "z-first", "2026-03-01T09:00:00Z")
	d2 := rawDelivery("gitlab", "g1", "2026-03-01T09:00:00Z")
	d3 := rawDelivery("github", "a-second", "2026-03-01T10:00:00Z")
	d4 := rawDelivery("github", "next-day", "2026-03-02T00:00:00Z")
	d5 := rawDelivery("github", "next-month", "2026-04-01T00:00:00Z")
	redelivered := d1
	redelivered.ReceivedAt = ts("2026-03-03T00:00:00Z")
	if err := st.WriteRaw(ctx, []delivery.Delivery{d5, d3, d1}); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteRaw(ctx, []delivery.Delivery{d4, d2, d1, redelivered}); err != nil {
		t.Fatal(err)
	}

	all := collect(t, func(fn func(delivery.Delivery) error) error { return st.RawDeliveries(ctx, "", fn) })
	if want := []delivery.Delivery{d1, d2, d3, d4, d5}; !reflect.DeepEqual(all, want) {
		t.Fatalf("RawDeliveries(all):\n got %+v\nwant %+v", all, want)
	}
	gh := collect(t, func(fn func(delivery.Delivery) error) error { return st.RawDeliveries(ctx, "github", fn) })
	if want := []delivery.Delivery{d1, d3, d4, d5}; !reflect.DeepEqual(gh, want) {
		t.Fatalf("RawDeliveries(github):\n got %+v\nwant %+v", gh, want)
	}
	none := collect(t, func(fn func(delivery.Delivery) error) error { return st.RawDeliveries(ctx, "jenkins", fn) })
	if len(none) != 0 {
		t.Fatalf("RawDeliveries(jenkins) = %d deliveries", len(none))
	}

	stop := errors.New("stop")
	calls := 0
	err := st.RawDeliveries(ctx, "", func(delivery.Delivery) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("callback error: got %v after %d calls", err, calls)
	}
}

func TestRawDeliveriesManyInOneDay(t *testing.T) {
	st := storetest.New(t)
	ctx := testCtx(t)
	var in []delivery.Delivery
	for i := 0; i < 1234; i++ {
		in = append(in, rawDelivery("github", fmt.Sprintf("id-%05d", i), "2026-05-05T05:05:05Z"))
	}
	if err := st.WriteRaw(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteRaw(ctx, in[:100]); err != nil {
		t.Fatal(err)
	}
	got := collect(t, func(fn func(delivery.Delivery) error) error { return st.RawDeliveries(ctx, "", fn) })
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("got %d deliveries, want %d in id order", len(got), len(in))
	}
	n, err := st.CountRaw(ctx)
	if err != nil || n != uint64(len(in)) {
		t.Fatalf("CountRaw = %d, %v; want %d", n, err, len(in))
	}
}

func TestScanRawReturnsEachDeliveryOnceInKeyOrder(t *testing.T) {
	st := storetest.New(t)
	ctx := testCtx(t)
	var gh []delivery.Delivery
	for i := 0; i < 3000; i++ {
		gh = append(gh, rawDelivery("github", fmt.Sprintf("id-%05d", i), "2026-05-05T05:05:05Z"))
	}
	gl := []delivery.Delivery{rawDelivery("gitlab", "g1", "2026-06-01T00:00:00Z"), rawDelivery("gitlab", "g0", "2026-04-01T00:00:00Z")}
	other := rawDelivery("opsgenie", "o1", "2026-05-01T00:00:00Z")
	if err := st.WriteRaw(ctx, append(append([]delivery.Delivery{other}, gl...), gh[1000:]...)); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteRaw(ctx, gh[:1000]); err != nil {
		t.Fatal(err)
	}
	// Redelivered: in the same part, in another part, and a month later.
	again := gh[10]
	again.ReceivedAt = ts("2026-07-01T00:00:00Z")
	if err := st.WriteRaw(ctx, []delivery.Delivery{gh[5], gh[2999], again}); err != nil {
		t.Fatal(err)
	}
	// Ranges of about 200 deliveries: the sample cuts github into many.
	var got []delivery.Delivery
	err := st.ScanRawInRanges(ctx, []string{"gitlab", "github"}, 200, func(d delivery.Delivery) error {
		if d.Source == "github" && d.ID == gh[10].ID {
			d.ReceivedAt = gh[10].ReceivedAt // either reception may come back
		}
		got = append(got, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Key order: source, then delivery id; opsgenie not asked for.
	want := append(append([]delivery.Delivery{}, gh...), gl[1], gl[0])
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %d deliveries, want %d: each github delivery once in id order, then gitlab g0, g1", len(got), len(want))
	}
	stop := errors.New("stop")
	if err := st.ScanRaw(ctx, []string{"github"}, func(delivery.Delivery) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("callback error: got %v", err)
	}
}
