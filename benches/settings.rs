//! Settings resolution at fleet scale: 100,000 indexes against 1,000 rules, resolved
//! by the compiled lookup (`Settings::for_index`) and by matching every rule
//! (`Settings::for_index_scanning_every_rule`, what resolution did before).
//!
//! `cargo bench --bench settings` prints the median of several repetitions of each.
//! Under `cargo test --all-targets` (no `--bench` argument) it resolves a small fleet
//! once, to check that it still runs and that both agree.

use std::collections::HashSet;
use std::hint::black_box;
use std::time::{Duration, Instant};

use index_pilot::domain::settings::{IndexSettings, IndexSubject, Scope, SettingRow, Settings};

/// The fleet: targets × databases × schemas × tables × indexes per table.
struct Fleet {
    targets: usize,
    databases: usize,
    schemas: usize,
    tables: usize,
    indexes: usize,
}

struct Names {
    target: String,
    database: String,
    schema: String,
    table: String,
    index: String,
}

impl Fleet {
    fn names(&self) -> Vec<Names> {
        let mut names = Vec::new();
        for t in 0..self.targets {
            for d in 0..self.databases {
                for s in 0..self.schemas {
                    for tb in 0..self.tables {
                        for i in 0..self.indexes {
                            names.push(Names {
                                target: format!("shard_{t:02}"),
                                database: format!("app_{d}"),
                                schema: format!("tenant_{s:03}"),
                                table: format!("orders_{tb:03}"),
                                index: format!("orders_{tb:03}_idx_{i}"),
                            });
                        }
                    }
                }
            }
        }
        names
    }
}

/// A small deterministic generator (xorshift64): the same rules on every run.
struct Pick(u64);

impl Pick {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn some(text: String) -> Option<String> {
    Some(text)
}

/// Rules as the control database holds them: one row per scope and key.
#[derive(Default)]
struct Rows {
    rows: Vec<SettingRow>,
    taken: HashSet<(Scope, &'static str)>,
}

impl Rows {
    fn push(&mut self, scope: Scope, key: &'static str, value: &str) {
        if self.taken.insert((scope.clone(), key)) {
            self.rows.push(SettingRow {
                id: self.rows.len() as i64 + 1,
                scope,
                key: key.to_owned(),
                value: value.to_owned(),
            });
        }
    }
}

/// 20 rules with wildcards: prefixes, suffixes, `?` for one character, some beside
/// a plain name, a few matching nothing in the fleet.
const WILDCARDS: [[Option<&str>; 5]; 20] = [
    [None, None, Some("tenant_00?"), None, None],
    [None, None, None, Some("orders_09*"), None],
    [None, None, None, None, Some("*_idx_9")],
    [Some("shard_0*"), Some("app_4"), None, None, None],
    [None, None, Some("tenant_1*"), Some("orders_00?"), None],
    [None, None, None, Some("tmp_*"), None],
    [None, None, Some("audit*"), None, None],
    [None, None, None, None, Some("*_ccnew*")],
    [None, Some("app_?"), Some("tenant_05*"), None, None],
    [None, None, None, Some("*_archive"), None],
    [Some("shard_1?"), None, None, Some("orders_1*"), None],
    [None, None, Some("tenant_2??"), Some("orders_01?"), None],
    [
        None,
        None,
        Some("tenant_003"),
        Some("orders_0?5"),
        Some("*_idx_1"),
    ],
    [None, None, Some("*"), Some("event_*"), None],
    [None, None, None, None, Some("orders_0*_idx_3")],
    [None, Some("*_2"), None, None, None],
    [None, None, Some("tenant_0*"), None, Some("*_idx_0")],
    [None, None, None, Some("orders_?4?"), None],
    [Some("*"), None, Some("tenant_01?"), None, None],
    [None, None, Some("public"), Some("log_*"), None],
];

/// `total` rules: 4 global, 20 with wildcards, 10 for a database, 100 for a schema,
/// and the rest for a table (two in three) or an index, all with plain names.
fn rules(fleet: &Fleet, total: usize) -> Vec<SettingRow> {
    let mut pick = Pick(0x9e37_79b9_7f4a_7c15);
    let mut rows = Rows::default();
    rows.push(Scope::default(), "index_size_threshold", "50MB");
    rows.push(Scope::default(), "lock_timeout", "30s");
    rows.push(Scope::default(), "max_blocker_age", "10min");
    rows.push(
        Scope::default(),
        "reindex_history_retention_period",
        "1 year",
    );
    for [target, database, schema, table, index] in WILDCARDS {
        let scope = Scope {
            target: target.map(str::to_owned),
            database: database.map(str::to_owned),
            schema: schema.map(str::to_owned),
            table: table.map(str::to_owned),
            index: index.map(str::to_owned),
        };
        rows.push(scope, "index_rebuild_scale_factor", "3");
    }
    for (t, d) in (0..fleet.targets)
        .flat_map(|t| (0..fleet.databases).map(move |d| (t, d)))
        .take(10)
    {
        let scope = Scope {
            target: some(format!("shard_{t:02}")),
            database: some(format!("app_{d}")),
            ..Scope::default()
        };
        rows.push(scope, "max_rebuild_wait", "5min");
    }
    let schema_keys = [
        ("index_size_threshold", "100MB"),
        ("lock_timeout", "5s"),
        ("max_blocker_age", "1min"),
        ("quarantine_after", "5"),
    ];
    for (s, (key, value)) in (0..fleet.schemas)
        .flat_map(|s| schema_keys.iter().map(move |kv| (s, *kv)))
        .take(100)
    {
        let scope = Scope {
            schema: some(format!("tenant_{s:03}")),
            ..Scope::default()
        };
        rows.push(scope, key, value);
    }
    // Picks may repeat a scope: bounded, for a fleet too small to hold `total` rules.
    for _ in 0..total * 10 {
        if rows.rows.len() >= total {
            break;
        }
        let table = pick.below(fleet.tables);
        let mut scope = Scope {
            schema: some(format!("tenant_{:03}", pick.below(fleet.schemas))),
            table: some(format!("orders_{table:03}")),
            ..Scope::default()
        };
        if pick.below(3) == 0 {
            let index = pick.below(fleet.indexes);
            scope.index = some(format!("orders_{table:03}_idx_{index}"));
        }
        let (key, value) = if pick.below(4) == 0 {
            ("skip", "true")
        } else {
            ("index_rebuild_scale_factor", "1.5")
        };
        rows.push(scope, key, value);
    }
    rows.rows
}

fn subject(names: &Names) -> IndexSubject<'_> {
    IndexSubject {
        target: &names.target,
        database: &names.database,
        schema: &names.schema,
        table: &names.table,
        index: &names.index,
    }
}

/// Resolves every index once per repetition; returns each repetition's time.
fn measure(
    names: &[Names],
    repetitions: usize,
    resolve: impl Fn(&IndexSubject<'_>) -> IndexSettings,
) -> Vec<Duration> {
    (0..repetitions)
        .map(|_| {
            let start = Instant::now();
            for n in names {
                black_box(resolve(black_box(&subject(n))));
            }
            start.elapsed()
        })
        .collect()
}

fn report(label: &str, indexes: usize, mut times: Vec<Duration>) -> Duration {
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "{label:<34} median {:>10.2} ms  ({:>7.0} ns per index; min {:.2} ms, max {:.2} ms, {} runs)",
        median.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e9 / indexes as f64,
        times[0].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        times.len(),
    );
    median
}

fn main() {
    // `cargo bench` passes --bench; `cargo test` runs this binary without it.
    let bench = std::env::args().any(|arg| arg == "--bench");
    let (fleet, total_rules, repetitions) = if bench {
        let fleet = Fleet {
            targets: 4,
            databases: 5,
            schemas: 25,
            tables: 50,
            indexes: 4,
        };
        (fleet, 1000, 7)
    } else {
        let fleet = Fleet {
            targets: 2,
            databases: 2,
            schemas: 20,
            tables: 5,
            indexes: 5,
        };
        (fleet, 200, 1)
    };
    let names = fleet.names();
    let rows = rules(&fleet, total_rules);

    let start = Instant::now();
    let settings = match Settings::from_rows(&rows) {
        Ok(settings) => settings,
        Err(e) => panic!("the benchmark's rules do not parse: {e}"),
    };
    let compile = start.elapsed();

    // Both must resolve the same, or the comparison means nothing.
    let mut skipped = 0;
    for n in &names {
        let compiled = settings.for_index(&subject(n));
        assert_eq!(
            compiled,
            settings.for_index_scanning_every_rule(&subject(n))
        );
        skipped += usize::from(compiled.skip.is_some());
    }

    println!(
        "{} indexes, {} rules ({skipped} indexes skipped); rules compiled in {:.2} ms",
        names.len(),
        rows.len(),
        compile.as_secs_f64() * 1e3,
    );
    let before = report(
        "every rule matched (before)",
        names.len(),
        measure(&names, repetitions, |s| {
            settings.for_index_scanning_every_rule(s)
        }),
    );
    let after = report(
        "compiled lookup (after)",
        names.len(),
        measure(&names, repetitions, |s| settings.for_index(s)),
    );
    println!(
        "compiled lookup: {:.0}x faster",
        before.as_secs_f64() / after.as_secs_f64()
    );
}
