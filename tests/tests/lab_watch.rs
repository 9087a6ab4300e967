//! Kernel lab: live expectations over ctnetlink, judged and enforced (issue 14).
//!
//! In the watch lab ([`netfilter_helpers_tests::watchlab`]) the router runs the FTP helper with
//! `loose=1`, so a PORT command naming a third party makes the kernel expect a connection from
//! the server to that third party (an FTP bounce). The site policy lets FTP data connections go
//! only to the server and its clients. With the watcher enforcing the policy:
//!
//! * `nfh_watch_enforce_stops_ftp_bounce`: `nfh watch --enforce` (the command itself) deletes
//!   the third party's expectation, the server's data connection to the third party is then
//!   refused, and a legitimate PORT session and a PASV session pass untouched;
//! * `enforcer_latency_and_race`: the library's watcher against a few hundred bounce sessions
//!   whose server connects at once: every expectation is either deleted before the connection
//!   (refused) or consumed by it first (the connection won the race: the deletion finds it
//!   gone); the time from the PORT command to the deletion is measured (p50/p99) and printed
//!   with how often the connection won;
//! * `enforcer_stops_sip_media_to_a_third_party`: under `sip_direct_media=0` an INVITE whose SDP
//!   names a host outside the phones' network makes the kernel expect media to it from anyone;
//!   the watcher deletes both expectations (RTP and RTCP) and a media packet to that host is
//!   dropped, while a call whose media goes to the phone itself keeps its expectations and its
//!   media passes.
//!
//! * `watcher_resyncs_after_lost_events`: a watcher with a tiny socket buffer that is not read
//!   while 200 expectations are created loses events (`ENOBUFS`), reports it, reads the table
//!   again, and reports every live expectation exactly once.
//!
//! Run alone: `cargo test -p netfilter-helpers-tests --test lab_watch -- --nocapture`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use netfilter_helpers_tests::netns::host_exec;
use netfilter_helpers_tests::require_lab;
use netfilter_helpers_tests::sysparam::ParamGuard;
use netfilter_helpers_tests::watchlab::{
    CLIENT, Enforcer, FTP_LOOSE, POLICY_TOML, SIP_INDIRECT_MEDIA, THIRD, WatchLab, percentile,
    run_sessions, sip_invite, start_servers, start_servers_with, udp_reaches,
};

/// The `nfh` binary of this workspace, built (or brought up to date) first: `cargo test` builds
/// only the test harness of a binary, and a stale `nfh` must not be what the lab runs.
fn nfh_binary() -> PathBuf {
    // target/<profile>/deps/lab_watch-HASH -> target/<profile>/nfh
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--locked",
        "-p",
        "netfilter-helpers-examples",
        "--bin",
        "nfh",
    ]);
    if dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("cargo build nfh");
    assert!(status.success(), "cargo build of nfh failed");
    let nfh = dir.join("nfh");
    assert!(nfh.is_file(), "{} missing after the build", nfh.display());
    nfh
}

#[test]
fn nfh_watch_enforce_stops_ftp_bounce() {
    let _lock = require_lab!();
    let lab = WatchLab::new().expect("watch lab");
    let _loose = ParamGuard::set("nf_conntrack_ftp", "loose", "1").expect("loose=1");
    let policy = std::env::temp_dir().join(format!("nfh-watch-lab-{}.toml", std::process::id()));
    std::fs::write(&policy, POLICY_TOML).expect("policy file");

    let mut child = Command::new(nfh_binary())
        .args(["watch", "--enforce", "--json", "--netns"])
        .arg(lab.router.name())
        .args(["--set", FTP_LOOSE, "--policy"])
        .arg(&policy)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nfh watch");
    let (tx, rx) = mpsc::channel::<serde_json::Value>();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let v = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("nfh printed a line that is not JSON ({e}): {line}"));
            if tx.send(v).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let mut wait_for = |pred: &dyn Fn(&serde_json::Value) -> bool, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        if let Some(v) = lines.iter().find(|v| pred(v)) {
            return serde_json::Value::clone(v);
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(v) => {
                    lines.push(v.clone());
                    if pred(&v) {
                        return v;
                    }
                }
                Err(_) => panic!("nfh watch printed no {what} within 10 s; it printed {lines:#?}"),
            }
        }
    };
    wait_for(&|v| v["event"] == "watching", "`watching` line");

    let (_server, _sink) = start_servers(&lab, 300, (41000, 4)).expect("servers");

    // The bounce: PORT naming the third party.
    let bounce = run_sessions(&lab, Some(THIRD), 41000, 1).expect("bounce session");
    let new = wait_for(
        &|v| v["event"] == "new" && v["expectation_fields"]["dport"] == 41000,
        "verdict on the bounce expectation",
    );
    assert_eq!(new["conforms"], false, "{new}");
    assert_eq!(new["expectation_fields"]["dst"], THIRD.to_string(), "{new}");
    assert!(
        new["policy"].as_array().is_some_and(|p| !p.is_empty()),
        "the policy, not the model (loose=1), must refuse it: {new}"
    );
    let deleted = wait_for(
        &|v| v["event"] == "deleted" && v["expectation_fields"]["dport"] == 41000,
        "deletion of the bounce expectation",
    );
    assert!(
        deleted["reason"]
            .as_str()
            .is_some_and(|r| r.contains("policy")),
        "{deleted}"
    );
    assert_eq!(
        bounce[0].server, "refused",
        "the server's data connection to the third party must be refused: {bounce:?}"
    );

    // Legitimate: PORT naming the client itself, and PASV.
    let port = run_sessions(&lab, Some(CLIENT), 42000, 1).expect("PORT session");
    assert_eq!(
        (port[0].server.as_str(), port[0].client.as_str()),
        ("connected", "accepted")
    );
    let ok = wait_for(
        &|v| v["event"] == "new" && v["expectation_fields"]["dport"] == 42000,
        "verdict on the PORT expectation",
    );
    assert_eq!(ok["conforms"], true, "{ok}");
    let pasv = run_sessions(&lab, None, 0, 1).expect("PASV session");
    assert_eq!(
        (pasv[0].server.as_str(), pasv[0].client.as_str()),
        ("accepted", "connected")
    );
    let pasv_port = serde_json::Value::from(pasv[0].data_port);
    let ok = wait_for(
        &|v| v["event"] == "new" && v["expectation_fields"]["dport"] == pasv_port,
        "verdict on the PASV expectation",
    );
    assert_eq!(ok["conforms"], true, "{ok}");

    // SIGTERM stops it cleanly; findings were seen, so it exits 1.
    let pid = child.id().to_string();
    host_exec("kill", &["-TERM", &pid]).expect("kill -TERM");
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait nfh") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "nfh watch did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    assert_eq!(
        status.code(),
        Some(1),
        "nfh watch exit status; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Nothing legitimate was deleted.
    while let Ok(v) = rx.recv_timeout(Duration::from_millis(200)) {
        lines.push(v);
    }
    let deletions: Vec<_> = lines
        .iter()
        .filter(|v| v["event"].as_str().is_some_and(|e| e.starts_with("delete")))
        .collect();
    assert_eq!(deletions.len(), 1, "{deletions:#?}");
    let _ = std::fs::remove_file(&policy);
}

/// Bounce sessions whose server connects to the third party as soon as it has answered PORT.
const RACE_SESSIONS: usize = 300;
/// Bounce sessions whose server waits 1 ms after answering PORT (a real server waits for the
/// client's next command, a round trip at least).
const DELAYED_SESSIONS: usize = 100;

/// What one batch of bounce sessions showed.
struct Batch {
    sessions: usize,
    /// PORT sent -> NEW event received by the watcher, seconds.
    seen: Vec<f64>,
    /// PORT sent -> deletion acknowledged, for the expectations deleted in time.
    deleted: Vec<f64>,
    /// PORT sent -> the kernel's answer to the deletion, deleted or gone.
    answered: Vec<f64>,
    /// Sessions whose data connection used the expectation before the deletion.
    won: usize,
}

fn judge_batch(
    bounces: &[netfilter_helpers_tests::watchlab::Session],
    records: &[netfilter_helpers_tests::watchlab::Record],
) -> Batch {
    let mut b = Batch {
        sessions: bounces.len(),
        seen: Vec::new(),
        deleted: Vec::new(),
        answered: Vec::new(),
        won: 0,
    };
    for s in bounces {
        let of = |what: &str| {
            records
                .iter()
                .find(|r| r.what == what && r.dport == s.data_port && r.dst == THIRD)
        };
        let seen = of("new").unwrap_or_else(|| panic!("no NEW event for {s:?}"));
        assert!(!seen.conforms, "the bounce expectation conformed: {seen:?}");
        b.seen.push(seen.at - s.sent_at);
        match (of("deleted"), of("gone"), s.server.as_str()) {
            (Some(d), None, "refused") => {
                b.deleted.push(d.at - s.sent_at);
                b.answered.push(d.at - s.sent_at);
            }
            (None, Some(g), "connected") => {
                b.won += 1;
                b.answered.push(g.at - s.sent_at);
            }
            other => panic!("inconsistent outcome {other:?} for {s:?}"),
        }
    }
    for v in [&mut b.seen, &mut b.deleted, &mut b.answered] {
        v.sort_by(f64::total_cmp);
    }
    b
}

fn p50_p99(v: &[f64]) -> String {
    format!(
        "p50 {:.3} ms, p99 {:.3} ms",
        percentile(v, 50.0) * 1000.0,
        percentile(v, 99.0) * 1000.0
    )
}

#[test]
fn enforcer_latency_and_race() {
    let _lock = require_lab!();
    let lab = WatchLab::new().expect("watch lab");
    let _loose = ParamGuard::set("nf_conntrack_ftp", "loose", "1").expect("loose=1");
    let enforcer = Enforcer::start(&lab, &[FTP_LOOSE]).expect("watcher");

    let started = Instant::now();
    let servers = start_servers(&lab, 0, (43000, RACE_SESSIONS as u16)).expect("servers");
    let bounces = run_sessions(&lab, Some(THIRD), 43000, RACE_SESSIONS).expect("bounces");
    let legit_port = run_sessions(&lab, Some(CLIENT), 44000, 20).expect("PORT sessions");
    let legit_pasv = run_sessions(&lab, None, 0, 20).expect("PASV sessions");
    drop(servers);
    let servers = start_servers(&lab, 1, (45000, DELAYED_SESSIONS as u16)).expect("servers");
    let delayed = run_sessions(&lab, Some(THIRD), 45000, DELAYED_SESSIONS).expect("bounces");
    drop(servers);
    let elapsed = started.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    let records = enforcer.finish().expect("watcher");

    for s in legit_port.iter().chain(&legit_pasv) {
        assert!(
            matches!(
                (s.server.as_str(), s.client.as_str()),
                ("connected", "accepted") | ("accepted", "connected")
            ),
            "a legitimate session failed: {s:?}"
        );
        assert!(
            !records
                .iter()
                .any(|r| r.what == "deleted" && r.dport == s.data_port && r.dst != THIRD),
            "a legitimate expectation was deleted: {s:?}"
        );
    }
    let now = judge_batch(&bounces, &records);
    let later = judge_batch(&delayed, &records);
    // Written to stderr directly so that it shows without --nocapture too.
    let report = format!(
        "WATCH LAB ({:.1} s): {} bounce sessions, server connecting at once: PORT sent -> NEW event {}; -> deleted {} ({} deleted in time); -> deletion answered (deleted or gone) {}; the data connection won the race {} time(s) of {}. \
         {} sessions, server connecting 1 ms after its reply: -> deleted {}; the connection won {} time(s) of {}",
        elapsed.as_secs_f64(),
        now.sessions,
        p50_p99(&now.seen),
        p50_p99(&now.deleted),
        now.deleted.len(),
        p50_p99(&now.answered),
        now.won,
        now.sessions,
        later.sessions,
        p50_p99(&later.deleted),
        later.won,
        later.sessions,
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{report}\n").as_bytes());
    assert_eq!(now.deleted.len() + now.won, now.sessions);
    assert!(
        !now.deleted.is_empty(),
        "the watcher never deleted before the connection: {report}"
    );
    assert!(
        later.won < later.sessions,
        "with the server 1 ms late, the deletion never came first: {report}"
    );
}

#[test]
fn enforcer_stops_sip_media_to_a_third_party() {
    let _lock = require_lab!();
    let lab = WatchLab::new().expect("watch lab");
    let _media =
        ParamGuard::set("nf_conntrack_sip", "sip_direct_media", "0").expect("direct_media=0");
    let enforcer = Enforcer::start(&lab, &[SIP_INDIRECT_MEDIA]).expect("watcher");
    let wait = Duration::from_secs(5);

    // Media offered to the third party: both expectations deleted, the media dropped.
    let call = sip_invite(&lab, THIRD, 49200).expect("INVITE, media to the third party");
    for port in [49200, 49201] {
        let seen = enforcer
            .wait_for(wait, |r| {
                r.what == "new" && r.dport == port && r.dst == THIRD
            })
            .unwrap_or_else(|| panic!("no NEW event for {THIRD}:{port}: {:?}", enforcer.records()));
        assert!(!seen.conforms, "{seen:?}");
        enforcer
            .wait_for(wait, |r| {
                r.what == "deleted" && r.dport == port && r.dst == THIRD
            })
            .unwrap_or_else(|| panic!("{THIRD}:{port} not deleted: {:?}", enforcer.records()));
    }
    assert!(
        !udp_reaches(&lab, &lab.third, THIRD, 49200, Duration::from_millis(500)).expect("probe"),
        "media to the third party passed after the deletion"
    );
    drop(call);

    // Media offered to the phone itself: kept, and the media passes.
    let call = sip_invite(&lab, CLIENT, 49300).expect("INVITE, media to the phone");
    let seen = enforcer
        .wait_for(wait, |r| {
            r.what == "new" && r.dport == 49300 && r.dst == CLIENT
        })
        .unwrap_or_else(|| panic!("no NEW event for the phone: {:?}", enforcer.records()));
    assert!(seen.conforms, "{seen:?}");
    assert!(
        udp_reaches(&lab, &lab.client, CLIENT, 49300, Duration::from_secs(1)).expect("probe"),
        "media to the phone did not pass"
    );
    drop(call);
    let records = enforcer.finish().expect("watcher");
    assert!(
        !records
            .iter()
            .any(|r| r.what == "deleted" && r.dst == CLIENT),
        "an expectation to the phone was deleted: {records:?}"
    );
}

#[test]
fn watcher_resyncs_after_lost_events() {
    use netfilter_helpers_netlink::{Event, WatchOptions, Watcher};
    const SESSIONS: usize = 200;
    let _lock = require_lab!();
    let lab = WatchLab::new().expect("watch lab");
    let _loose = ParamGuard::set("nf_conntrack_ftp", "loose", "1").expect("loose=1");
    // The smallest buffer the kernel allows: a few events fill it.
    let mut watcher =
        Watcher::open(&WatchOptions::in_netns(lab.router_path()).with_receive_buffer(1))
            .expect("watcher");
    assert!(
        watcher.poll_event().expect("poll").is_none(),
        "the table starts empty"
    );
    let (_server, _sink) = start_servers_with(&lab, None, (46000, 1)).expect("servers");
    // Expectations to the third party that no connection uses: they stay live.
    let sessions = run_sessions(&lab, Some(THIRD), 46000, SESSIONS).expect("sessions");
    let mut lost = 0;
    let mut reported = std::collections::BTreeMap::<u16, usize>::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while let Some(e) = watcher.poll_event().expect("events") {
        match e {
            Event::Lost => lost += 1,
            Event::Existing(m) | Event::New(m) => {
                *reported.entry(m.expectation().dport).or_default() += 1;
            }
            Event::Destroyed(_) => {}
            other => panic!("unexpected {other:?}"),
        }
        assert!(Instant::now() < deadline, "events do not end");
    }
    assert!(
        lost >= 1,
        "{SESSIONS} unread events fit in a minimal buffer?"
    );
    for s in &sessions {
        assert_eq!(
            reported.get(&s.data_port),
            Some(&1),
            "expectation to port {} reported {:?} times (lost {lost} times)",
            s.data_port,
            reported.get(&s.data_port)
        );
    }
    assert_eq!(reported.len(), SESSIONS, "{reported:?}");
}
