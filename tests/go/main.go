// Command franz drives kfkd with franz-go (kgo and kadm), a Go Kafka client
// written from the protocol, for kfk's end-to-end tests. Every mode prints
// one JSON object per line.
//
//	franz produce BOOTSTRAP TOPIC COUNT       acks=all, idempotent
//	franz group BOOTSTRAP TOPIC GROUP IDLE_MS a group member, committing, until IDLE_MS pass without a record once one came
//	franz admin BOOTSTRAP TOPIC               kadm's calls on a new TOPIC
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func emit(v map[string]any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 4 {
		fail(fmt.Errorf("usage: franz produce|group|admin BOOTSTRAP TOPIC ..."))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	seeds := strings.Split(os.Args[2], ",")
	topic := os.Args[3]
	switch os.Args[1] {
	case "produce":
		count, _ := strconv.Atoi(os.Args[4])
		produce(ctx, seeds, topic, count)
	case "group":
		idle, _ := strconv.Atoi(os.Args[5])
		group(ctx, seeds, topic, os.Args[4], time.Duration(idle)*time.Millisecond)
	case "admin":
		admin(ctx, seeds, topic)
	default:
		fail(fmt.Errorf("unknown mode %s", os.Args[1]))
	}
}

func produce(ctx context.Context, seeds []string, topic string, count int) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		fail(err)
	}
	defer cl.Close()
	records := make([]*kgo.Record, count)
	for i := range records {
		records[i] = &kgo.Record{Key: []byte(fmt.Sprintf("k%d", i%7)), Value: []byte(fmt.Sprintf("fz-%d", i))}
	}
	for _, r := range cl.ProduceSync(ctx, records...) {
		if r.Err != nil {
			fail(r.Err)
		}
		emit(map[string]any{"p": r.Record.Partition, "o": r.Record.Offset, "v": string(r.Record.Value)})
	}
}

func group(ctx context.Context, seeds []string, topic, groupID string, idle time.Duration) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup(groupID),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit())
	if err != nil {
		fail(err)
	}
	defer cl.Close()
	read := 0
	last := time.Now()
	for read == 0 || time.Since(last) < idle {
		if err := ctx.Err(); err != nil {
			fail(fmt.Errorf("after %d records: %w", read, err))
		}
		wait, stop := context.WithTimeout(ctx, 200*time.Millisecond)
		fetches := cl.PollFetches(wait)
		stop()
		fetches.EachError(func(t string, p int32, err error) {
			if err != context.DeadlineExceeded {
				fail(fmt.Errorf("%s-%d: %w", t, p, err))
			}
		})
		fetches.EachRecord(func(r *kgo.Record) {
			read++
			last = time.Now()
			emit(map[string]any{"p": r.Partition, "o": r.Offset, "v": string(r.Value)})
		})
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			fail(err)
		}
	}
}

func admin(ctx context.Context, seeds []string, topic string) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		fail(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	created, err := adm.CreateTopics(ctx, 3, 1, map[string]*string{"retention.ms": kadm.StringPtr("3600000")}, topic)
	if err == nil {
		err = created.Error()
	}
	if err != nil {
		fail(err)
	}
	emit(map[string]any{"call": "CreateTopics", "topic": topic})

	// Created means committed; the broker asked next may learn of it a
	// moment later, as in Kafka.
	var meta kadm.Metadata
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		meta, err = adm.Metadata(ctx)
		if err != nil {
			fail(err)
		}
		if len(meta.Topics[topic].Partitions) == 3 || time.Now().After(deadline) {
			break
		}
	}
	var brokers []int32
	for _, b := range meta.Brokers {
		brokers = append(brokers, b.NodeID)
	}
	sort.Slice(brokers, func(i, j int) bool { return brokers[i] < brokers[j] })
	emit(map[string]any{"call": "Metadata", "brokers": brokers, "controller": meta.Controller,
		"partitions": len(meta.Topics[topic].Partitions)})

	// The broker asked may not have applied the new topic's configs yet.
	retention := awaitRetention(ctx, adm, topic, "3600000")
	emit(map[string]any{"call": "DescribeTopicConfigs", "retention.ms": retention})

	_, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("7200000")}}, topic)
	if err != nil {
		fail(err)
	}
	// The change is committed when the answer comes; a broker other than
	// the one asked may take a moment to apply it, as in Kafka.
	retention = awaitRetention(ctx, adm, topic, "7200000")
	emit(map[string]any{"call": "AlterTopicConfigs", "retention.ms": retention})

	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		fail(err)
	}
	total := int64(0)
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	emit(map[string]any{"call": "ListEndOffsets", "total": total})

	groups, err := adm.ListGroups(ctx)
	if err != nil {
		fail(err)
	}
	emit(map[string]any{"call": "ListGroups", "groups": groups.Groups()})

	deleted, err := adm.DeleteTopics(ctx, topic)
	if err == nil {
		_, err = deleted.On(topic, nil)
	}
	if err != nil {
		fail(err)
	}
	emit(map[string]any{"call": "DeleteTopics", "topic": topic})
}

// awaitRetention reads topic's retention.ms until it is want (a change is
// committed before every broker has applied it, as in Kafka) or 10 s have
// passed, and returns the last value read.
func awaitRetention(ctx context.Context, adm *kadm.Client, topic, want string) string {
	retention := ""
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		configs, err := adm.DescribeTopicConfigs(ctx, topic)
		if err != nil {
			fail(err)
		}
		rc, err := configs.On(topic, nil)
		if err != nil || rc.Err != nil {
			continue
		}
		for _, c := range rc.Configs {
			if c.Key == "retention.ms" {
				retention = c.MaybeValue()
			}
		}
		if retention == want {
			break
		}
	}
	return retention
}
