//! The group APIs on one broker, request by request: a member joins and
//! syncs, commits; batched FindCoordinator, multi-group OffsetFetch,
//! OffsetDelete and DeleteGroups answer as Kafka does.

mod support;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use support::{TestBroker, create_topic};

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn code(e: ResponseError) -> i16 {
    e.code()
}

fn commit_req(group: &str, generation: i32, member: &str, offset: i64) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member))
        .with_topics(vec![
            OffsetCommitRequestTopic::default()
                .with_name(TopicName(s("t")))
                .with_partitions(vec![
                    OffsetCommitRequestPartition::default()
                        .with_partition_index(0)
                        .with_committed_offset(offset),
                ]),
        ])
}

#[tokio::test]
async fn a_member_joins_syncs_commits_and_the_group_is_managed_like_kafkas() {
    let broker = TestBroker::start_with(|s| s.group_initial_rebalance_delay_ms = 0).await;
    let mut c = broker.client().await;

    // Batched FindCoordinator (v4) creates __consumer_offsets and answers per key.
    let find = FindCoordinatorRequest::default().with_coordinator_keys(vec![s("g1"), s("g2")]);
    let resp: FindCoordinatorResponse = c.request(ApiKey::FindCoordinator, 4, &find).await;
    assert_eq!(resp.coordinators.len(), 2);
    assert!(
        resp.coordinators
            .iter()
            .all(|k| k.error_code == 0 && k.node_id.0 == 1)
    );

    // JoinGroup v5: first the member id round trip (KIP-394), then the join.
    let join = |member: &str| {
        JoinGroupRequest::default()
            .with_group_id(GroupId(s("g1")))
            .with_session_timeout_ms(10_000)
            .with_rebalance_timeout_ms(10_000)
            .with_member_id(s(member))
            .with_protocol_type(s("consumer"))
            .with_protocols(vec![
                JoinGroupRequestProtocol::default()
                    .with_name(s("range"))
                    .with_metadata(Bytes::from_static(b"\0\0\0\0\0\x01\0\x01t\xff\xff\xff\xff")),
            ])
    };
    let first: JoinGroupResponse = c.request(ApiKey::JoinGroup, 5, &join("")).await;
    assert_eq!(first.error_code, code(ResponseError::MemberIdRequired));
    let member = first.member_id.to_string();
    let joined: JoinGroupResponse = c.request(ApiKey::JoinGroup, 5, &join(&member)).await;
    assert_eq!(joined.error_code, 0);
    assert_eq!(joined.leader.as_str(), member);
    assert_eq!(joined.members.len(), 1);
    let generation = joined.generation_id;

    let sync = SyncGroupRequest::default()
        .with_group_id(GroupId(s("g1")))
        .with_generation_id(generation)
        .with_member_id(s(&member))
        .with_assignments(vec![
            kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment::default()
                .with_member_id(s(&member))
                .with_assignment(Bytes::from_static(b"assigned")),
        ]);
    let synced: SyncGroupResponse = c.request(ApiKey::SyncGroup, 3, &sync).await;
    assert_eq!(synced.error_code, 0);
    assert_eq!(synced.assignment, Bytes::from_static(b"assigned"));

    // A partition that does not exist is refused, before anything else.
    let missing: OffsetCommitResponse = c
        .request(
            ApiKey::OffsetCommit,
            7,
            &commit_req("g1", generation, &member, 5),
        )
        .await;
    assert_eq!(
        missing.topics[0].partitions[0].error_code,
        code(ResponseError::UnknownTopicOrPartition)
    );
    create_topic(&mut c, "t", 1).await;

    // Commits need the current generation.
    let stale: OffsetCommitResponse = c
        .request(
            ApiKey::OffsetCommit,
            7,
            &commit_req("g1", generation + 1, &member, 5),
        )
        .await;
    assert_eq!(
        stale.topics[0].partitions[0].error_code,
        code(ResponseError::IllegalGeneration)
    );
    let ok: OffsetCommitResponse = c
        .request(
            ApiKey::OffsetCommit,
            7,
            &commit_req("g1", generation, &member, 5),
        )
        .await;
    assert_eq!(ok.topics[0].partitions[0].error_code, 0);
    // A group without members takes simple commits (generation -1).
    let simple: OffsetCommitResponse = c
        .request(ApiKey::OffsetCommit, 7, &commit_req("g2", -1, "", 9))
        .await;
    assert_eq!(simple.topics[0].partitions[0].error_code, 0);

    // OffsetFetch v8 answers several groups at once.
    let fetch = OffsetFetchRequest::default().with_groups(vec![
        OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s("g1")))
            .with_topics(Some(vec![
                OffsetFetchRequestTopics::default()
                    .with_name(TopicName(s("t")))
                    .with_partition_indexes(vec![0, 1]),
            ])),
        OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s("g2")))
            .with_topics(None),
    ]);
    let fetched: OffsetFetchResponse = c.request(ApiKey::OffsetFetch, 8, &fetch).await;
    let g1 = &fetched.groups[0].topics[0].partitions;
    assert_eq!((g1[0].committed_offset, g1[1].committed_offset), (5, -1));
    assert_eq!(
        fetched.groups[1].topics[0].partitions[0].committed_offset,
        9
    );

    // A member's group cannot be deleted, nor offsets of a topic it reads.
    let describe: DescribeGroupsResponse = c
        .request(
            ApiKey::DescribeGroups,
            5,
            &DescribeGroupsRequest::default()
                .with_groups(vec![GroupId(s("g1")), GroupId(s("none"))]),
        )
        .await;
    assert_eq!(describe.groups[0].group_state.as_str(), "Stable");
    assert_eq!(
        describe.groups[0].members[0].member_assignment,
        Bytes::from_static(b"assigned")
    );
    assert_eq!(describe.groups[1].group_state.as_str(), "Dead");
    let delete = |g: &str| DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s(g))]);
    let busy: DeleteGroupsResponse = c.request(ApiKey::DeleteGroups, 2, &delete("g1")).await;
    assert_eq!(
        busy.results[0].error_code,
        code(ResponseError::NonEmptyGroup)
    );
    let offset_delete = |g: &str| {
        OffsetDeleteRequest::default()
            .with_group_id(GroupId(s(g)))
            .with_topics(vec![
                OffsetDeleteRequestTopic::default()
                    .with_name(TopicName(s("t")))
                    .with_partitions(vec![
                        OffsetDeleteRequestPartition::default().with_partition_index(0),
                    ]),
            ])
    };
    let subscribed: OffsetDeleteResponse = c
        .request(ApiKey::OffsetDelete, 0, &offset_delete("g1"))
        .await;
    assert_eq!(
        subscribed.topics[0].partitions[0].error_code,
        code(ResponseError::GroupSubscribedToTopic)
    );

    // Once the member leaves, both work.
    let leave = LeaveGroupRequest::default()
        .with_group_id(GroupId(s("g1")))
        .with_members(vec![
            kafka_protocol::messages::leave_group_request::MemberIdentity::default()
                .with_member_id(s(&member)),
        ]);
    let left: LeaveGroupResponse = c.request(ApiKey::LeaveGroup, 4, &leave).await;
    assert_eq!(left.members[0].error_code, 0);
    let dropped: OffsetDeleteResponse = c
        .request(ApiKey::OffsetDelete, 0, &offset_delete("g1"))
        .await;
    assert_eq!(dropped.topics[0].partitions[0].error_code, 0);
    let gone: DeleteGroupsResponse = c.request(ApiKey::DeleteGroups, 2, &delete("g1")).await;
    assert_eq!(gone.results[0].error_code, 0);
    let again: DeleteGroupsResponse = c.request(ApiKey::DeleteGroups, 2, &delete("g1")).await;
    assert_eq!(
        again.results[0].error_code,
        code(ResponseError::GroupIdNotFound)
    );
    let listed: ListGroupsResponse = c
        .request(ApiKey::ListGroups, 4, &ListGroupsRequest::default())
        .await;
    let names: Vec<&str> = listed
        .groups
        .iter()
        .map(|g| g.group_id.0.as_str())
        .collect();
    assert_eq!(names, vec!["g2"]);
}
