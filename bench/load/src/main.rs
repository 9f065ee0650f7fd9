//! `fupin-load`: log in to a running fupin server, find real townships, villages,
//! households, names and ID numbers through its API, then drive the main pages and API
//! endpoints with N keep-alive connections for a fixed time, every connection taking the
//! endpoints in turn with a random parameter each time. Prints one Markdown row per
//! endpoint — requests, requests/s, p50/p95/p99/max in ms, non-200 answers — and writes
//! the same as JSON.
//!
//! Why not wrk: wrk reports one latency distribution per run, and its Lua hooks have no
//! clock fine enough to time requests per endpoint; a mixed workload (searches beside
//! dashboards, as users make it) with per-endpoint percentiles needs its own timer.
//!
//! Usage: fupin-load ADDR USER PASSWORD CONNECTIONS SECONDS OUT.json [SKIP,…]
//! (SKIP: endpoints left out, to see how the others fare without them).

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// The endpoints driven, in the order each connection takes them.
const ENDPOINTS: &[&str] = &[
    "dashboard",
    "township",
    "village",
    "household",
    "search_name",
    "search_id",
    "search_household_no",
    "api_summary",
    "api_townships",
    "api_village_households",
    "api_household",
];

/// Real parameters found through the API.
struct Targets {
    townships: Vec<String>,
    /// (township, village)
    villages: Vec<(String, String)>,
    households: Vec<String>,
    names: Vec<String>,
    ids: Vec<String>,
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A small xorshift generator: which parameter each request takes.
struct Rng(u64);

impl Rng {
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        &v[(self.0 % v.len() as u64) as usize]
    }
}

impl Targets {
    fn path(&self, endpoint: &str, r: &mut Rng) -> String {
        match endpoint {
            "dashboard" => "/".into(),
            "township" => format!("/townships/{}", enc(r.pick(&self.townships).as_str())),
            "village" => {
                let (t, v) = r.pick(&self.villages);
                format!("/townships/{}/villages/{}", enc(t), enc(v))
            }
            "household" => format!("/households/{}", enc(r.pick(&self.households).as_str())),
            "search_name" => format!("/search?q={}", enc(r.pick(&self.names).as_str())),
            "search_id" => format!("/search?q={}", enc(r.pick(&self.ids).as_str())),
            "search_household_no" => {
                format!("/search?q={}", enc(r.pick(&self.households).as_str()))
            }
            "api_summary" => "/api/v1/summary".into(),
            "api_townships" => "/api/v1/townships".into(),
            "api_village_households" => {
                let (t, v) = r.pick(&self.villages);
                format!(
                    "/api/v1/townships/{}/villages/{}/households",
                    enc(t),
                    enc(v)
                )
            }
            "api_household" => format!(
                "/api/v1/households/{}",
                enc(r.pick(&self.households).as_str())
            ),
            other => unreachable!("{other}"),
        }
    }
}

type Conn = SendRequest<Full<Bytes>>;

async fn connect(addr: &str) -> Conn {
    let stream = TcpStream::connect(addr)
        .await
        .expect("connect to the server");
    stream.set_nodelay(true).unwrap();
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP handshake");
    tokio::spawn(conn);
    send
}

/// One request: status, body.
async fn call(
    c: &mut Conn,
    method: &str,
    path: &str,
    cookie: &str,
    body: Option<Value>,
) -> (StatusCode, Bytes, Option<String>) {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "fupin");
    if !cookie.is_empty() {
        b = b.header("cookie", cookie);
    }
    let req = match body {
        Some(v) => b
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(v.to_string()))),
        None => b.body(Full::new(Bytes::new())),
    }
    .unwrap();
    c.ready().await.expect("connection ready");
    let resp = c.send_request(req).await.expect("request");
    let status = resp.status();
    let set_cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.split(';').next().unwrap_or("").to_string());
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, bytes, set_cookie)
}

async fn get_json(c: &mut Conn, path: &str, cookie: &str) -> Value {
    let (status, body, _) = call(c, "GET", path, cookie, None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{path}: {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).expect("JSON")
}

async fn discover(c: &mut Conn, cookie: &str) -> Targets {
    // Every township, a page of 500 at a time (the list pages by key).
    let mut townships: Vec<String> = Vec::new();
    let mut path = "/api/v1/townships?limit=500".to_string();
    loop {
        let page = get_json(c, &path, cookie).await;
        townships.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["township"].as_str().unwrap().to_string()),
        );
        match page["next"].as_u64() {
            Some(n) => path = format!("/api/v1/townships?limit=500&after={n}"),
            None => break,
        }
    }
    let mut villages = Vec::new();
    for t in &townships {
        let vs = get_json(c, &format!("/api/v1/townships/{}/villages", enc(t)), cookie).await;
        for v in vs.as_array().unwrap().iter().take(8) {
            villages.push((t.clone(), v["village"].as_str().unwrap().to_string()));
        }
    }
    let mut households = Vec::new();
    for (t, v) in villages.iter().step_by(2).take(40) {
        let page = get_json(
            c,
            &format!(
                "/api/v1/townships/{}/villages/{}/households",
                enc(t),
                enc(v)
            ),
            cookie,
        )
        .await;
        for h in page["items"].as_array().unwrap().iter().step_by(7).take(5) {
            households.push(h["household_no"].as_str().unwrap().to_string());
        }
    }
    let (mut names, mut ids) = (Vec::new(), Vec::new());
    for no in households.iter().step_by(2).take(100) {
        let d = get_json(c, &format!("/api/v1/households/{}", enc(no)), cookie).await;
        for m in d["members"].as_array().unwrap().iter().take(2) {
            if let Some(n) = m["name"].as_str() {
                names.push(n.to_string());
            }
            if let Some(i) = m["id_number"].as_str() {
                ids.push(i.to_string());
            }
        }
    }
    assert!(!households.is_empty() && !names.is_empty() && !ids.is_empty());
    Targets {
        townships,
        villages,
        households,
        names,
        ids,
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    f64::from(sorted[i]) / 1000.0
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !(7..=8).contains(&args.len()) {
        eprintln!("usage: fupin-load ADDR USER PASSWORD CONNECTIONS SECONDS OUT.json [SKIP,…]");
        std::process::exit(2);
    }
    let skip: Vec<&str> = args.get(7).map_or(Vec::new(), |s| s.split(',').collect());
    let driven: Arc<Vec<usize>> = Arc::new(
        (0..ENDPOINTS.len())
            .filter(|&e| !skip.contains(&ENDPOINTS[e]))
            .collect(),
    );
    let addr = args[1].clone();
    let connections: usize = args[4].parse().expect("CONNECTIONS");
    let seconds: u64 = args[5].parse().expect("SECONDS");

    let mut c = connect(&addr).await;
    let (status, body, cookie) = call(
        &mut c,
        "POST",
        "/api/v1/session",
        "",
        Some(json!({ "username": args[2], "password": args[3] })),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "login: {}",
        String::from_utf8_lossy(&body)
    );
    let cookie = Arc::new(cookie.expect("a session cookie"));
    let targets = Arc::new(discover(&mut c, &cookie).await);
    eprintln!(
        "fupin-load: {} townships, {} villages, {} households, {} names, {} ID numbers; {connections} connections for {seconds} s",
        targets.townships.len(),
        targets.villages.len(),
        targets.households.len(),
        targets.names.len(),
        targets.ids.len()
    );

    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for i in 0..connections {
        let (addr, cookie, targets) = (addr.clone(), Arc::clone(&cookie), Arc::clone(&targets));
        let driven = Arc::clone(&driven);
        tasks.push(tokio::spawn(async move {
            let mut conn = connect(&addr).await;
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((i as u64 + 1) * 0x1000_0001));
            let mut times: Vec<Vec<u32>> = vec![Vec::new(); ENDPOINTS.len()];
            let mut bad = vec![0u64; ENDPOINTS.len()];
            let mut k = i;
            while Instant::now() < end {
                let e = driven[k % driven.len()];
                k += 1;
                let path = targets.path(ENDPOINTS[e], &mut rng);
                let t = Instant::now();
                let (status, _, _) = call(&mut conn, "GET", &path, &cookie, None).await;
                times[e].push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                if status != StatusCode::OK {
                    bad[e] += 1;
                }
            }
            (times, bad)
        }));
    }
    let mut times: Vec<Vec<u32>> = vec![Vec::new(); ENDPOINTS.len()];
    let mut bad = vec![0u64; ENDPOINTS.len()];
    for t in tasks {
        let (ts, bs) = t.await.unwrap();
        for (e, v) in ts.into_iter().enumerate() {
            times[e].extend(v);
            bad[e] += bs[e];
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut rows = Vec::new();
    let mut all: Vec<u32> = Vec::new();
    println!("| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | non-200 |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (e, name) in ENDPOINTS.iter().enumerate() {
        if !driven.contains(&e) {
            continue;
        }
        let v = &mut times[e];
        v.sort_unstable();
        all.extend_from_slice(v);
        let row = json!({
            "endpoint": name,
            "requests": v.len(),
            "rps": v.len() as f64 / elapsed,
            "p50_ms": percentile(v, 0.50),
            "p95_ms": percentile(v, 0.95),
            "p99_ms": percentile(v, 0.99),
            "max_ms": percentile(v, 1.0),
            "non_200": bad[e],
        });
        println!(
            "| {name} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            v.len(),
            v.len() as f64 / elapsed,
            percentile(v, 0.50),
            percentile(v, 0.95),
            percentile(v, 0.99),
            percentile(v, 1.0),
            bad[e]
        );
        rows.push(row);
    }
    all.sort_unstable();
    println!(
        "| **all** | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
        all.len(),
        all.len() as f64 / elapsed,
        percentile(&all, 0.50),
        percentile(&all, 0.95),
        percentile(&all, 0.99),
        percentile(&all, 1.0),
        bad.iter().sum::<u64>()
    );
    let out = json!({
        "connections": connections,
        "seconds": elapsed,
        "endpoints": rows,
        "all": { "requests": all.len(), "rps": all.len() as f64 / elapsed, "p50_ms": percentile(&all, 0.5), "p95_ms": percentile(&all, 0.95), "p99_ms": percentile(&all, 0.99) },
    });
    std::fs::write(&args[6], serde_json::to_string_pretty(&out).unwrap()).expect("write OUT.json");
}
