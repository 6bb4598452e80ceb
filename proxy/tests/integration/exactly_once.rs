//! Exactly-once sends under slow upstreams and lost answers: the send lease
//! covers one in-doubt send (a reconciliation and an orderCall, each as slow
//! as the client allows), every write of a sender is fenced by its claim,
//! and an answer lost in transit is reconciled, not ordered again.

use std::sync::Arc;
use std::time::Duration;

use proxy::clock::FixedClock;
use proxy::lead::{LeadState, NewLead, Transition};
use proxy::store::Store;

use crate::support::{Reply, Stub, TestProxy, eventually};

#[tokio::test]
async fn a_slow_reconcile_then_a_slow_order_still_orders_the_lead_once() {
    let stub = Stub::default();
    let clock = Arc::new(FixedClock::at_system_time());
    let proxy = TestProxy::against_with_clock(&stub, "", clock.clone()).await;
    let store = Store::connect(&proxy.store).await.expect("the store");

    // The first orderCall gets a 503: it may have arrived, so the lead is in doubt.
    stub.set_default(Reply::Unavailable);
    let id = proxy.order_id("+79990003001").await;
    eventually("the first attempt is recorded in doubt", || async {
        let lead = store.get(&id).await.expect("read").expect("stored");
        lead.state == LeadState::Queued && lead.in_doubt
    })
    .await;

    // From now on CallKeeper is as slow as it may be: getCallsInfo and
    // orderCall each take (in the proxy's time) just under the client's
    // timeout, and the order shows in getCallsInfo only once answered.
    stub.set_default(Reply::SlowAccept(1_500));
    stub.set_calls_info_delay(Duration::from_millis(1_500));
    clock.advance(Duration::from_secs(2)); // the retry is due
    eventually("the sender reconciles", || async {
        stub.calls_info_requests() == 1
    })
    .await;
    clock.advance(Duration::from_secs(31));
    eventually("the sender orders", || async {
        stub.order_attempts().len() == 2
    })
    .await;
    // 62 s since the claim: past the old 45 s lease. Another sender (the
    // forwarder looks every 500 ms) must not take the lead now.
    clock.advance(Duration::from_secs(31));
    eventually("the order is recorded", || async {
        let lead = store.get(&id).await.expect("read").expect("stored");
        lead.upstream_id.is_some()
    })
    .await;
    // Absence takes a bounded wait: in 3 s the forwarder looks six more
    // times, and a second sender would have reconciled (1.5 s) and ordered.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(stub.placed().len(), 1, "one call placed");
    assert_eq!(
        stub.order_attempts().len(),
        2,
        "the 503 and one order, nothing more"
    );
    assert_eq!(
        stub.calls_info_requests(),
        1,
        "no second sender reconciled meanwhile"
    );
    let lead = store.get(&id).await.expect("read").expect("stored");
    assert_eq!(lead.state, LeadState::Ordered);
    assert!(!lead.in_doubt);
    proxy.stop();
}

fn new_lead(id: &str) -> NewLead {
    NewLead {
        id: id.to_owned(),
        site: "shop".to_owned(),
        idempotency_key: id.to_owned(),
        body_hash: String::new(),
        phone: "79991234567".to_owned(),
        ip: None,
        request: serde_json::from_value(serde_json::json!({"phone": "79991234567"}))
            .expect("request"),
        now: 1_000,
        test: false,
    }
}

#[tokio::test]
async fn a_stale_senders_writes_are_refused_by_the_claim() {
    let dir = crate::support::TestDir::new();
    let store = Store::connect(&crate::support::store_url(dir.path()))
        .await
        .expect("store");
    store.insert(new_lead("fenced")).await.expect("insert");

    let stale = store
        .claim_for_sending("fenced", 1_000, 2_000, None)
        .await
        .expect("claim")
        .expect("the first sender claims");
    assert!(
        store
            .claim_for_sending("fenced", 1_999, 3_000, Some(stale.token()))
            .await
            .expect("claim")
            .is_none(),
        "held while the lease runs"
    );
    // The lease ran out (the first sender froze): another sender claims.
    let current = store
        .claim_for_sending("fenced", 2_000, 2_000, Some(stale.token()))
        .await
        .expect("claim")
        .expect("claimable after the lease");
    assert_ne!(stale, current);
    // Even within the same millisecond a new claim is a new token.
    let newest = store
        .claim_for_sending("fenced", 2_000, 5_000, Some(current.token()))
        .await
        .expect("claim")
        .expect("the lease ended at 2 000");
    assert_ne!(current, newest);
    assert!(
        store
            .claim_for_sending("fenced", 9_000, 9_500, Some(current.token()))
            .await
            .expect("claim")
            .is_none(),
        "a sender holding an outdated copy of the lead cannot claim it"
    );

    let ordered = |upstream: &str| Transition {
        state: Some(LeadState::Ordered),
        upstream_id: Some(upstream.to_owned()),
        in_doubt: Some(false),
        next_attempt_at: 10_000,
        ..Default::default()
    };
    assert!(
        !store
            .renew_claim("fenced", stale, 9_000)
            .await
            .expect("renew"),
        "a stale sender cannot renew, so it does not send"
    );
    assert!(
        !store
            .transition_claimed("fenced", stale, &ordered("stale"), 2_100)
            .await
            .expect("write"),
        "a stale sender's outcome is refused"
    );
    let lead = store.get("fenced").await.expect("read").expect("stored");
    assert_eq!(
        (lead.state, lead.upstream_id.as_deref()),
        (LeadState::Sending, None),
        "nothing of the stale write landed"
    );
    assert!(
        store
            .renew_claim("fenced", newest, 9_000)
            .await
            .expect("renew")
    );
    assert!(
        store
            .transition_claimed("fenced", newest, &ordered("1001"), 2_200)
            .await
            .expect("write")
    );
    let lead = store.get("fenced").await.expect("read").expect("stored");
    assert_eq!(
        (lead.state, lead.upstream_id.as_deref()),
        (LeadState::Ordered, Some("1001"))
    );
    assert!(
        !store
            .transition_claimed("fenced", newest, &ordered("again"), 2_300)
            .await
            .expect("write"),
        "once the outcome is written the claim is spent"
    );
}

#[tokio::test]
async fn answers_lost_in_transit_are_reconciled_and_a_redirect_is_never_followed() {
    let stub = Stub::default();
    stub.set_rule("71", Reply::Garbled);
    stub.set_rule("72", Reply::ResetMidAnswer);
    stub.set_rule("73", Reply::RedirectElsewhere);
    let proxy = TestProxy::against(&stub, "").await;
    let mut ids = Vec::new();
    for (i, phone) in ["+79990000071", "+79990000072", "+79990000073"]
        .iter()
        .enumerate()
    {
        let (code, body, _) = proxy.order(phone, &format!("transit{i}")).await;
        assert_eq!(code, 202, "{body}");
        ids.push(body["id"].as_str().expect("id").to_owned());
    }
    // The redirect is a configuration fault: halted, the visitor told.
    eventually("the redirected order is final", || async {
        proxy.status(&ids[2]).await["final"] == true
    })
    .await;
    assert_eq!(proxy.status(&ids[2]).await["reason"], "not_ordered");
    // A garbled or broken answer may hide a placed call: in doubt, queued.
    let store = proxy::store::Store::connect(&proxy.store)
        .await
        .expect("the store");
    for id in &ids[..2] {
        eventually("the lost answer leaves the lead in doubt", || async {
            let lead = store.get(id).await.expect("read").expect("stored");
            lead.state == proxy::lead::LeadState::Queued && lead.in_doubt
        })
        .await;
    }
    // CallKeeper answers again: the calls it did place are found, not ordered again.
    stub.set_rule("71", Reply::Accept);
    stub.set_rule("72", Reply::Accept);
    for id in &ids[..2] {
        eventually("the lead follows its call", || async {
            store
                .get(id)
                .await
                .expect("read")
                .expect("stored")
                .upstream_id
                .is_some()
        })
        .await;
    }
    let placed = stub.placed();
    for phone in ["79990000071", "79990000072"] {
        assert_eq!(
            placed.iter().filter(|c| c.phone == phone).count(),
            1,
            "{phone}: the call placed before the answer was lost, and no other \
             (orderCall for: {:?}, getCallsInfo: {})",
            stub.order_attempts(),
            stub.calls_info_requests()
        );
    }
    assert!(
        !placed.iter().any(|c| c.phone == "79990000073"),
        "the redirect placed nothing"
    );
    proxy.stop();
}
