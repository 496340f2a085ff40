//! Migration from the original sample: with `CONTINUE_ORIGINAL_CHAIN`, the
//! first run continues the chain its SSM parameters and its exports in the
//! bucket describe, to the millisecond, instead of a new full export; when
//! the bucket does not back the SSM's word, it makes a full export and says
//! why. Judged by the exports the service was asked for and the messages
//! sent.

use super::chaos::block_on;
use incx_core::config::Config;
use incx_core::domain::export::ExportKind;
use incx_core::domain::mirrors::{FULL_EXPORT_TIME, LAST_INCREMENTAL_EXPORT_TIME, WORKFLOW_STATE};
use incx_core::domain::notification::Status;
use incx_core::domain::origin::Published;
use incx_core::domain::timefmt::rfc3339_millis;
use incx_core::domain::Epoch;
use incx_sim::chaos::SCHEDULE_OFFSET;
use incx_sim::memory::lock;
use incx_sim::World;

const T0: Epoch = 1_800_000_000 + SCHEDULE_OFFSET;
const WINDOW_MS: i64 = 900_000;
/// The original's full export, six hours before, with its milliseconds.
const FULL_MS: i64 = (T0 - 6 * 3600) * 1000 + 413;

fn config(continue_original: bool) -> Config {
    Config::from_lookup(|k| {
        Some(match k {
            "TABLE_NAME" => "orders".into(),
            "DEPLOYMENT_ALIAS" => "orders".into(),
            "DATA_EXPORT_BUCKET" => "bucket".into(),
            "CONTINUE_ORIGINAL_CHAIN" => continue_original.to_string(),
            _ => return None,
        })
    })
    .unwrap()
}

/// The original's state: its chain of `links` windows in the bucket, and
/// its SSM parameters saying it ends after `ssm_links` of them.
fn original(w: &World, links: i64, ssm_links: i64) {
    let mut published = vec![Published {
        export_arn: "arn:original:full".into(),
        kind: ExportKind::Full,
        from_ms: None,
        to_ms: FULL_MS,
        completed: true,
    }];
    published.extend((0..links).map(|k| Published {
        export_arn: format!("arn:original:{k}"),
        kind: ExportKind::Incremental,
        from_ms: Some(FULL_MS + k * WINDOW_MS),
        to_ms: FULL_MS + (k + 1) * WINDOW_MS,
        completed: true,
    }));
    *lock(&w.bucket.published) = published;
    let mut mirrors = lock(&w.control.mirrors);
    mirrors.insert(FULL_EXPORT_TIME.into(), rfc3339_millis(FULL_MS));
    mirrors.insert(
        LAST_INCREMENTAL_EXPORT_TIME.into(),
        rfc3339_millis(FULL_MS + ssm_links * WINDOW_MS),
    );
    mirrors.insert(WORKFLOW_STATE.into(), "NORMAL".into());
}

async fn run(w: &mut World) {
    let mut e = w.start_execution();
    w.run_to_end(&mut e).await.unwrap();
    while let Some(name) = w.runs.take_new().pop() {
        let mut next = w.start_requested(&name);
        w.run_to_end(&mut next).await.unwrap();
    }
}

#[test]
fn the_first_run_continues_the_original_chain_to_the_millisecond() {
    block_on(async {
        let mut w = World::new(config(true), T0).unwrap();
        let links = 22; // the original's chain ends 30 minutes before T0
        original(&w, links, links);
        run(&mut w).await;
        let end = FULL_MS + links * WINDOW_MS;
        let asked: Vec<_> = w
            .exports
            .world()
            .exports
            .iter()
            .map(|x| x.request.clone())
            .collect();
        assert!(
            asked.iter().all(|r| r.kind == ExportKind::Incremental),
            "{asked:?}"
        );
        let first = asked.first().expect("an export");
        assert_eq!(first.span.from, Some(end.div_euclid(1000)));
        assert_eq!(first.from_ms, Some(end), "the exact end, not the second");
        assert!(asked[1..].iter().all(|r| r.from_ms.is_none()));
        let head = w.ledger.head_now();
        assert_eq!(head.chain, 1);
        assert_eq!(head.full_export_time, Some(FULL_MS.div_euclid(1000)));
        let notes = w.notifier.all();
        let first_note = notes.iter().find(|n| n.status == Status::Success).unwrap();
        assert!(
            first_note
                .message
                .contains("continues the original sample's chain")
                && first_note.message.contains("22 incremental exports"),
            "{}",
            first_note.message
        );
        // The stale mirrors now say what the ledger says.
        let mirrors = lock(&w.control.mirrors).clone();
        assert_eq!(
            mirrors.get(FULL_EXPORT_TIME).map(String::as_str),
            Some(incx_core::domain::timefmt::rfc3339(FULL_MS.div_euclid(1000)).as_str())
        );
    });
}

#[test]
fn a_gap_in_the_bucket_means_a_full_export_and_the_notification_says_why() {
    block_on(async {
        let mut w = World::new(config(true), T0).unwrap();
        original(&w, 20, 23); // the SSM says 23 windows, the bucket holds 20
        run(&mut w).await;
        let asked: Vec<_> = w
            .exports
            .world()
            .exports
            .iter()
            .map(|x| x.request.kind)
            .collect();
        assert_eq!(asked.first(), Some(&ExportKind::Full), "{asked:?}");
        let notes = w.notifier.all();
        let full = notes
            .iter()
            .find(|n| n.export_type == Some(ExportKind::Full))
            .unwrap();
        assert!(
            full.message.contains("not the original's chain") && full.message.contains("stop at"),
            "{}",
            full.message
        );
    });
}

#[test]
fn without_the_setting_the_original_is_ignored() {
    block_on(async {
        let mut w = World::new(config(false), T0).unwrap();
        original(&w, 23, 23);
        run(&mut w).await;
        let asked: Vec<_> = w
            .exports
            .world()
            .exports
            .iter()
            .map(|x| x.request.kind)
            .collect();
        assert_eq!(asked.first(), Some(&ExportKind::Full));
        assert!(w
            .notifier
            .all()
            .iter()
            .all(|n| !n.message.contains("original")));
    });
}
