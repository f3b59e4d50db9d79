//! The forecast: each index's growth since its baseline was set, projected to its
//! rebuild threshold, in a dry run's report and in the view index_pilot.forecast.

use common::steps::batch;
use common::Fixture;
use serde_json::json;

#[tokio::test]
async fn a_growing_index_gets_a_date_in_the_dry_run_and_the_view() {
    let fx = Fixture::bare("forecast").await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    fx.create_table("t", 200_000).await;
    fx.invoke_main(json!({"mode": "run"})).await;
    // The baseline was set ten days ago; a fifth of the rows went since.
    batch(
        &fx.control().await,
        "UPDATE index_pilot.index_state SET trend_since = now() - interval '10 days'",
    )
    .await;
    batch(&fx.target().await, "DELETE FROM t WHERE id % 5 = 0").await;
    fx.vacuum("t").await;

    let dry = fx.invoke_main(json!({"mode": "dry_run"})).await;
    assert_eq!(dry.forecast.len(), 1, "{dry:#?}");
    let entry = &dry.forecast[0];
    assert_eq!(entry.index, "public.t_id");
    // 1.0 → 1.25 in ten days: 0.025 a day, 2.0 in about thirty more.
    assert!((entry.estimated_bloat - 1.25).abs() < 0.03, "{entry:?}");
    assert!((entry.bloat_per_day - 0.025).abs() < 0.003, "{entry:?}");
    let days: f64 = fx
        .control()
        .await
        .query_one(
            "SELECT (extract(epoch FROM $1::text::timestamptz - now()) / 86400)::float8",
            &[&entry.expected_at.replace(" UTC", "+00")],
        )
        .await
        .unwrap()
        .get(0);
    assert!((26.0..=34.0).contains(&days), "{days} days");

    // The view makes the same projection from what a run recorded.
    fx.invoke_main(json!({"mode": "run"})).await;
    let row = fx
        .control()
        .await
        .query_one(
            "SELECT index, bloat_per_day::float8,
                    extract(epoch FROM expected_rebuild_at - now())::float8 / 86400
             FROM index_pilot.forecast",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "public.t_id");
    assert!((row.get::<_, f64>(1) - 0.025).abs() < 0.003);
    assert!((26.0..=34.0).contains(&row.get::<_, f64>(2)));

    // Shrinking or flat: no forecast.
    batch(
        &fx.control().await,
        "UPDATE index_pilot.index_state SET trend_ratio = ratio * 2",
    )
    .await;
    let flat = fx.invoke_main(json!({"mode": "dry_run"})).await;
    assert!(flat.forecast.is_empty(), "{:?}", flat.forecast);
}
