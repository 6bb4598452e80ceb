//! What operators rely on: `leads resend` leaves alone a lead CallKeeper
//! already has, and the store and exports are readable by their owner only.

use std::time::Duration;

use proxy::clock::FixedClock;

#[tokio::test]
async fn resend_leaves_a_lead_callkeeper_already_has_unless_forced() {
    use proxy::lead::{LeadState, NewLead, Transition};
    use proxy::store::Store;
    let dir = crate::support::TestDir::new();
    let store = Store::connect(&crate::support::store_url(dir.path()))
        .await
        .expect("store");
    for (id, upstream) in [("with-call", Some("1001")), ("never-sent", None)] {
        store
            .insert(NewLead {
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
            })
            .await
            .expect("insert");
        let halted = Transition {
            upstream_id: upstream.map(str::to_owned),
            ..Transition::halted("the key was refused")
        };
        store.transition(id, &halted, 2_000).await.expect("halt");
    }
    let clock = FixedClock::at_unix(10);
    let deadline = Duration::from_secs(3600);
    let resent = proxy::operator::resend(&store, None, deadline, false, &clock)
        .await
        .expect("resend");
    assert_eq!((resent.queued, resent.already_ordered), (1, 1));
    let state = |id: &'static str| {
        let store = store.clone();
        async move { store.get(id).await.expect("read").expect("stored").state }
    };
    assert_eq!(state("never-sent").await, LeadState::Queued);
    assert_eq!(
        state("with-call").await,
        LeadState::Halted,
        "CallKeeper has a call for it: ordering again could call the visitor twice"
    );
    let forced = proxy::operator::resend(&store, Some("with-call"), deadline, true, &clock)
        .await
        .expect("resend");
    assert_eq!(forced.queued, 1);
    assert_eq!(state("with-call").await, LeadState::Queued);
}

#[cfg(unix)]
#[tokio::test]
async fn the_store_and_exports_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    if crate::support::sqlite_only("the SQLite file's mode") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let database = dir.path().join("leads.db");
    let store = proxy::store::Store::open(&database).await.expect("store");
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .expect("exists")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&database), 0o600, "the store holds phone numbers");
    drop(store);
    let export = dir.path().join("leads.csv");
    std::fs::write(&export, "old").expect("an older, readable export");
    std::fs::set_permissions(&export, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    drop(proxy::operator::create_private_file(&export).expect("created"));
    assert_eq!(mode(&export), 0o600, "an export holds full numbers");
    assert_eq!(std::fs::read(&export).expect("read").len(), 0, "truncated");
}
