//! A small Rust program that reports to crash-cache through the `sentry` crate, one scenario per run.
//! Usage: SENTRY_DSN=... CC_MARKER=... CC_RELEASE=... rustapp <scenario>
use std::{env, fmt, process, time::Duration};

use sentry::protocol::{Attachment, Context, Map, Value};

#[derive(Debug)]
struct ConformanceError {
    msg: String,
    source: Option<Box<ConformanceError>>,
}

impl fmt::Display for ConformanceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for ConformanceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

#[inline(never)]
fn fail_deep(what: &str, marker: &str) -> ConformanceError {
    fail_deeper(what, marker)
}

#[inline(never)]
fn fail_deeper(what: &str, marker: &str) -> ConformanceError {
    ConformanceError { msg: format!("conformance {what} {marker}"), source: None }
}

#[inline(never)]
fn panic_deep(marker: &str) {
    panic!("conformance unhandled {marker}");
}

/// The suite finds exactly this run's event by the id printed here.
fn report(id: sentry::types::Uuid) {
    println!("event_id={}", id.simple());
}

fn main() {
    let scenario = env::args().nth(1).expect("scenario");
    let marker = env::var("CC_MARKER").unwrap_or_default();
    let guard = sentry::init((
        env::var("SENTRY_DSN").expect("SENTRY_DSN"),
        sentry::ClientOptions::new()
            .maybe_release(env::var("CC_RELEASE").ok())
            .environment("conformance")
            .traces_sample_rate(1.0)
            .attach_stacktrace(true)
            .auto_session_tracking(scenario == "session" || scenario == "crash")
            .session_mode(sentry::SessionMode::Application)
            .before_send({
                // A panic's event id is known only here; the suite finds the event by it.
                let unhandled = scenario == "unhandled";
                move |event| {
                    if unhandled {
                        println!("event_id={}", event.event_id.simple());
                    }
                    Some(event)
                }
            }),
    ));
    let m = marker.as_str();
    match scenario.as_str() {
        "handled" => {
            report(sentry::capture_error(&fail_deep("handled", m)));
        }
        "unhandled" | "crash" => {
            // The panic integration captures the panic; the guard's drop is skipped by the panic,
            // so flush explicitly from a hook that runs after the integration's.
            let prev = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                prev(info);
                if let Some(c) = sentry::Hub::current().client() {
                    c.flush(Some(Duration::from_secs(10)));
                }
            }));
            panic_deep(m);
        }
        "message" => {
            report(sentry::capture_message(&format!("conformance message {m}"), sentry::Level::Info));
        }
        "chained" => {
            let inner = fail_deep("inner", m);
            let outer = ConformanceError { msg: format!("conformance outer {m}"), source: Some(Box::new(inner)) };
            report(sentry::capture_error(&outer));
        }
        "breadcrumbs" => {
            for i in 1..=3 {
                sentry::add_breadcrumb(sentry::Breadcrumb {
                    category: Some("conformance".into()),
                    message: Some(format!("crumb-{i} {m}")),
                    level: sentry::Level::Info,
                    ..Default::default()
                });
            }
            report(sentry::capture_message(&format!("conformance breadcrumbs {m}"), sentry::Level::Info));
        }
        "context" => {
            sentry::configure_scope(|s| {
                s.set_tag("cc_marker", m);
                s.set_user(Some(sentry::User {
                    id: Some(format!("user-{m}")),
                    email: Some("conformance@example.com".into()),
                    ..Default::default()
                }));
                let mut ctx = Map::new();
                ctx.insert("marker".into(), Value::from(m));
                ctx.insert("answer".into(), Value::from(42));
                s.set_context("conformance", Context::Other(ctx));
            });
            report(sentry::capture_message(&format!("conformance context {m}"), sentry::Level::Info));
        }
        "release" => {
            report(sentry::capture_message(&format!("conformance release {m}"), sentry::Level::Info));
        }
        "session" => {
            // auto_session_tracking started an application session at init; an error counts in it.
            report(sentry::capture_error(&fail_deep("session", m)));
            sentry::end_session();
        }
        "transaction" => {
            let tx = sentry::start_transaction(sentry::TransactionContext::new(&format!("conformance-tx-{m}"), "conformance"));
            let span = tx.start_child("conformance.step", "a step");
            std::thread::sleep(Duration::from_millis(5));
            span.finish();
            tx.finish();
        }
        "attachment" => {
            sentry::with_scope(
                |s| {
                    s.add_attachment(Attachment {
                        buffer: format!("attachment-bytes {m}\n").into_bytes(),
                        filename: "conformance.txt".into(),
                        content_type: Some("text/plain".into()),
                        ty: None,
                    })
                },
                || report(sentry::capture_message(&format!("conformance attachment {m}"), sentry::Level::Info)),
            );
        }
        "compression" => {
            sentry::with_scope(
                |s| {
                    let mut ctx = Map::new();
                    ctx.insert("text".into(), Value::from(format!("compressible conformance payload {m} ").repeat(1500)));
                    s.set_context("payload", Context::Other(ctx));
                },
                || report(sentry::capture_message(&format!("conformance compression {m}"), sentry::Level::Info)),
            );
        }
        "ratelimit" => {
            // One event at a time, each flushed, so the 429's X-Sentry-Rate-Limits is known before the next.
            for i in 1..=25 {
                sentry::capture_message(&format!("conformance ratelimit {i} {m}"), sentry::Level::Info);
                if let Some(c) = sentry::Hub::current().client() {
                    c.flush(Some(Duration::from_secs(5)));
                }
            }
        }
        other => {
            eprintln!("unsupported scenario {other}");
            drop(guard);
            process::exit(3);
        }
    }
    drop(guard); // flushes (default shutdown timeout 2 s)
}
