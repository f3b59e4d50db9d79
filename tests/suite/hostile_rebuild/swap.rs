//! The copy and the swap: a failure after the swap is a completed rebuild, and the
//! copy of a 63-byte unicode name is known and dropped.

use super::*;

/// A reader idle in its transaction makes the rebuild time out after the swap, while
/// it waits to mark the old index dead: the rebuild did its work. It is recorded
/// completed with the new index's oid and baseline, and `_ccold` is dropped as soon
/// as the reader lets it.
#[tokio::test]
async fn a_failure_after_the_swap_is_a_completed_rebuild() {
    let fx = Fixture::new("swapped").await;
    fx.create_table("a", 100_000).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    fx.set(&[], "lock_timeout", "2s").await;
    let oid_before: u32 = fx
        .target()
        .await
        .query_one("SELECT 'a_id'::regclass::oid", &[])
        .await
        .unwrap()
        .get(0);
    let (reader, _) = fx.session("reader").await;
    batch(&reader, "BEGIN; SELECT count(*) FROM a;").await;

    let report = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(rebuilt(&report), ["public.a_id"], "{report:?}");
    let note = json(&report.reindexed[0])["note"].to_string();
    assert!(
        note.contains("after the swap") && note.contains("lock timeout"),
        "{note}"
    );
    assert!(note.contains("leftover public.a_id_ccold kept"), "{note}");
    let oid_after: u32 = fx
        .target()
        .await
        .query_one("SELECT 'a_id'::regclass::oid", &[])
        .await
        .unwrap()
        .get(0);
    assert_ne!(oid_after, oid_before);
    assert_eq!(
        fx.invalid_indexes().await,
        [("a_id_ccold".to_owned(), oid_before)]
    );
    let control = fx.control().await;
    let row: Row = recorded(&control, History, "status, index_oid_after", "", &[]).await;
    assert_eq!(row.get::<_, String>(0), "completed");
    assert_eq!(row.get::<_, Option<u32>>(1), Some(oid_after));
    let state: u32 = recorded::<Row>(
        &control,
        IndexState,
        "index_oid",
        "WHERE index_name = 'a_id' AND best_ratio IS NOT NULL",
        &[],
    )
    .await
    .get(0);
    assert_eq!(state, oid_after, "the baseline follows the new index");

    batch(&reader, "COMMIT").await;
    let again = fx.invoke_main(json!({"mode": "run"})).await;
    let ccold = again
        .leftovers
        .iter()
        .find(|l| l.index == "public.a_id_ccold")
        .unwrap_or_else(|| panic!("{again:?}"));
    assert_eq!(ccold.action, "ours: dropped");
    assert!(again.reindexed.is_empty(), "rebuilt twice: {again:?}");
    assert!(fx.invalid_indexes().await.is_empty());
}

/// The copy of an index whose name needs quoting and fills all 63 bytes is named by
/// PostgreSQL with the name cut short between characters: index-pilot knows it as
/// its own all the same, keeps it while it cannot drop it, and drops it later.
#[tokio::test]
async fn the_copy_of_a_63_byte_unicode_name_is_known_and_dropped() {
    let fx = Fixture::new("longname").await;
    // 2-byte characters, a quote and a space: 63 bytes in all.
    let name = format!("Ünïcødé \"q\" {}x", "ä".repeat(23));
    assert_eq!(name.len(), 63);
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    batch(
        &fx.target().await,
        &format!(
            "CREATE TABLE wide (id int);
             INSERT INTO wide SELECT generate_series(1, 100000);
             CREATE INDEX {quoted} ON wide (id);"
        ),
    )
    .await;
    fx.vacuum("wide").await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    fx.set(&[], "lock_timeout", "500ms").await;
    let (reader, _) = fx.session("reader").await;
    batch(
        &reader,
        "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM wide;",
    )
    .await;
    let failed = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(failed.failed.len(), 1, "{failed:?}");
    let left = fx.invalid_indexes().await;
    assert_eq!(left.len(), 1);
    // Cut to 57 bytes would split an ä: PostgreSQL keeps 56.
    let copy = &left[0].0;
    assert_eq!(copy.len(), 62, "{copy}");
    assert!(
        copy.ends_with("_ccnew") && name.starts_with(&copy[..56]),
        "{copy}"
    );
    assert!(
        failed.failed[0].error.contains("kept for a later run"),
        "{failed:?}"
    );

    batch(&reader, "COMMIT").await;
    let again = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(again.leftovers.len(), 1, "{again:?}");
    assert_eq!(again.leftovers[0].action, "ours: dropped");
    assert!(fx.invalid_indexes().await.is_empty());
    assert_eq!(rebuilt(&again).len(), 1, "{again:?}");
}
