//! The seeded chaos run (see `incx_sim::chaos`).
//!
//! `cargo test -p incx-sim --test it chaos` runs 20 seeds x 50 days;
//! `INCX_CHAOS_DAYS=20000` runs longer (50 days per seed);
//! `INCX_CHAOS_SEED=n` replays one seed (for `INCX_CHAOS_DAYS` or 50 days).

use incx_sim::chaos::{run_seed, ChaosFailure, Stats};
use std::path::PathBuf;

/// Seeds that once failed: always run first.
// Seed 1 (50 days) found the client token reused after the service forgot
// it (a duplicate export of one window and attempt).
const REGRESSION_SEEDS: &[u64] = &[1];
const DAYS_PER_SEED: u64 = 50;
const DEFAULT_DAYS: u64 = 1_000;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn run_all(jobs: Vec<(u64, u64)>) -> Result<Stats, ChaosFailure> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len().max(1));
    let jobs = std::sync::Arc::new(std::sync::Mutex::new(jobs.into_iter()));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let jobs = jobs.clone();
            std::thread::spawn(move || {
                let mut total = Stats::default();
                loop {
                    let next = jobs.lock().unwrap().next();
                    let Some((seed, days)) = next else {
                        return Ok(total);
                    };
                    total.add(&block_on(run_seed(seed, days))?);
                }
            })
        })
        .collect();
    let mut total = Stats::default();
    let mut first_failure = None;
    for h in handles {
        match h.join().expect("chaos thread panicked") {
            Ok(s) => total.add(&s),
            Err(f) => {
                first_failure.get_or_insert(f);
            }
        }
    }
    first_failure.map_or(Ok(total), Err)
}

fn write_summary(stats: &Stats, failure: Option<&ChaosFailure>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/chaos");
    let mut json = serde_json::to_value(stats).expect("stats serialize");
    json["summary"] = serde_json::Value::String(stats.line());
    if let Some(f) = failure {
        json["failure"] = serde_json::json!({
            "seed": f.seed, "days": f.days, "at": f.at,
            "message": f.message, "replay": f.replay(),
        });
    }
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(
            dir.join("summary.json"),
            serde_json::to_string_pretty(&json).unwrap_or_default(),
        );
    }
}

#[test]
fn chaos_keeps_the_chain_whole() {
    let started = std::time::Instant::now();
    let days = env_u64("INCX_CHAOS_DAYS").unwrap_or(DEFAULT_DAYS);
    let jobs: Vec<(u64, u64)> = match env_u64("INCX_CHAOS_SEED") {
        Some(seed) => vec![(seed, env_u64("INCX_CHAOS_DAYS").unwrap_or(DAYS_PER_SEED))],
        None => {
            let seeds = days.div_ceil(DAYS_PER_SEED);
            let regressions = REGRESSION_SEEDS.iter().map(|&s| (s, DAYS_PER_SEED));
            if let Err(f) = run_all(regressions.collect()) {
                write_summary(&Stats::default(), Some(&f));
                panic!("regression {f}");
            }
            (1..=seeds).map(|s| (s, DAYS_PER_SEED)).collect()
        }
    };
    match run_all(jobs) {
        Ok(stats) => {
            println!(
                "{} ({:.1} s)",
                stats.line(),
                started.elapsed().as_secs_f64()
            );
            write_summary(&stats, None);
            check_port_calls(
                &stats,
                env_u64("INCX_CHAOS_DAYS").is_none() && env_u64("INCX_CHAOS_SEED").is_none(),
            );
        }
        Err(f) => {
            write_summary(&Stats::default(), Some(&f));
            panic!("{f}");
        }
    }
}

/// Calls on paths the default seeds do not always reach, each made by a
/// test of its own, so the role keeps them whatever the seeds draw.
const RARE_CALLS: &[(&str, &str)] = &[
    // An export refused for a reason that fails the attempt (ExportConflict:
    // defects.rs, `defect_8b_...`) records a catalog entry.
    ("start-export", "Ledger.put_head_with_entry"),
];

/// `contracts/port_calls.json`: the port methods each function called in
/// the chaos run, from which the template test derives its permissions. The
/// default run writes (under INCX_BLESS) and checks it whole; any other run
/// checks that it called nothing the file lacks.
fn check_port_calls(stats: &Stats, whole: bool) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts/port_calls.json");
    let mut calls = stats.port_calls.clone();
    for (function, call) in RARE_CALLS {
        calls.entry(*function).or_default().insert(*call);
    }
    let mut value = serde_json::json!({
        "_comment": "Port methods each function called in the default chaos run, plus the rare paths it may miss (sim/tests/it/chaos.rs RARE_CALLS; INCX_BLESS=1 rewrites this file). tests/infra/test_least_privilege.py joins it with contracts/adapter_actions.json.",
        "functions": calls,
    });
    value.sort_all_objects();
    let text = format!("{}\n", serde_json::to_string_pretty(&value).unwrap());
    if whole && std::env::var_os("INCX_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_default())
            .unwrap_or_default();
    if whole {
        assert_eq!(
            committed["functions"], value["functions"],
            "contracts/port_calls.json is stale: rerun the chaos test with INCX_BLESS=1 and review the diff"
        );
        return;
    }
    for (function, calls) in &stats.port_calls {
        for call in calls {
            let known = committed["functions"][function]
                .as_array()
                .is_some_and(|a| a.iter().any(|c| c == call));
            assert!(
                known,
                "{function} called {call}, which contracts/port_calls.json (and so its role) lacks"
            );
        }
    }
}
