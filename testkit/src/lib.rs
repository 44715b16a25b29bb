//! scaletag's test kit: a real moto server (with the stand-in for what moto lacks), a recording
//! proxy in front of it, a Lambda Runtime API stand-in, and the real `scaletag` binaries talking
//! to both. A library of its own, shared by every integration test of the scaletag crate, so
//! that what one test does not use is not dead code in it.

mod components;
pub mod fixture;
pub mod http;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

pub const REGION: &str = "us-east-1";
pub const WRITES: [&str; 8] = [
    "RegisterScalableTarget",
    "PutScalingPolicy",
    "DeleteScalingPolicy",
    "DeregisterScalableTarget",
    "PutMetricAlarm",
    "DeleteAlarms",
    "TagResource",
    "AddTags",
];

/// The scaletag repository (this crate lives in its `testkit/`).
pub fn repo() -> PathBuf {
    let kit = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    kit.parent().map(PathBuf::from).unwrap_or(kit)
}

/// One of scaletag's binaries, as cargo built it for the running test: beside the test
/// executable's `deps/` folder, wherever `CARGO_TARGET_DIR` puts builds.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("tests run from <target>/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with cargo test, which builds it",
        path.display()
    );
    path
}

/// The project's virtualenv Python; `scripts/test` creates it. Missing is a hard failure.
pub fn venv_python() -> PathBuf {
    let p = repo().join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run the tests with scripts/test, which installs the pinned Python tools",
        p.display()
    );
    p
}

struct Moto {
    port: u16,
    _child: Child,
    // Held open: the server exits when this closes, i.e. when the test process ends.
    _stdin: ChildStdin,
}

/// One moto server per test process, shared by its tests (each uses its own endpoint names).
pub fn moto_port() -> u16 {
    static MOTO: OnceLock<Mutex<Moto>> = OnceLock::new();
    MOTO.get_or_init(|| {
        let mut child = Command::new(venv_python())
            .arg(repo().join("scripts/moto-server.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("moto prints its port");
        let port = line.trim().parse().expect("a port number");
        let stdin = child.stdin.take().expect("stdin");
        Mutex::new(Moto {
            port,
            _child: child,
            _stdin: stdin,
        })
    })
    .lock()
    .expect("moto lock")
    .port
}

/// One AWS call as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub op: String,
    pub body: Value,
    pub started: Instant,
    pub ended: Instant,
    pub status: u16,
}

/// A recording HTTP proxy between the function and moto.
pub struct Proxy {
    pub port: u16,
    calls: Arc<Mutex<Vec<Call>>>,
    faults: Arc<Mutex<Faults>>,
}

/// Errors the proxy answers instead of moto, as AWS would send them.
#[derive(Default)]
struct Faults {
    /// Every n-th Application Auto Scaling call gets a ThrottlingException.
    throttle_every: Option<usize>,
    seen: usize,
    /// A seeded random schedule of faults, for the fault-injection test.
    plan: Option<(FaultPlan, fastrand::Rng)>,
    /// Calls to these operations are held this long, then dropped unsent: AWS too slow to
    /// answer. The count, when given, is how many calls still hang.
    hang: Vec<(String, Duration, Option<usize>)>,
    /// Calls to an operation whose body contains a string get AWS's error instead of moto's
    /// answer: (operation, needle, code, message).
    refuse: Vec<(String, String, String, String)>,
    injected: BTreeMap<&'static str, usize>,
    requests: usize,
    /// Operations whose answer is frozen: the first answer after [`Proxy::freeze`] is given
    /// again for every later call, as a listing that lags behind the truth would.
    frozen: Vec<(String, Option<Answer>)>,
}

/// An answer as sent: status, headers, body.
type Answer = (u16, Vec<(String, String)>, Vec<u8>);

impl Faults {
    /// `Some(answer)` to give again for a call to a frozen operation; `None` to forward it.
    fn frozen_answer(&self, op: &str) -> Option<Answer> {
        self.frozen
            .iter()
            .find(|(o, _)| o == op)
            .and_then(|(_, a)| a.clone())
    }

    /// Keeps `answer` as the frozen answer of `op`, when it is frozen and has none yet.
    fn keep(&mut self, op: &str, answer: &Answer) {
        if let Some((_, kept @ None)) = self.frozen.iter_mut().find(|(o, _)| o == op) {
            *kept = Some(answer.clone());
        }
    }
}

/// How often, and how, the proxy misbehaves.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    pub seed: u64,
    /// The share of calls that get a fault.
    pub rate: f64,
    /// The longest added latency of a slow call.
    pub max_latency: Duration,
}

/// One injected misbehaviour.
#[derive(Debug, Clone, PartialEq)]
enum Fault {
    /// An error AWS answers for this request: (code, message), HTTP 400.
    Refuse(String, String),
    Throttling,
    ConcurrentUpdate,
    Internal,
    Unavailable,
    /// The connection closes before the request reaches AWS.
    DropBefore,
    /// AWS carries the request out, but the answer is lost.
    DropAfter,
    Slow(Duration),
    /// Held, then dropped unsent: AWS too slow to answer before the caller gives up.
    Hang(Duration),
}

impl Fault {
    fn name(&self) -> &'static str {
        match self {
            Fault::Refuse(..) => "refused",
            Fault::Throttling => "ThrottlingException",
            Fault::ConcurrentUpdate => "ConcurrentUpdateException",
            Fault::Internal => "InternalServiceException (500)",
            Fault::Unavailable => "503 Service Unavailable",
            Fault::DropBefore => "connection dropped before AWS",
            Fault::DropAfter => "connection dropped after AWS acted",
            Fault::Slow(_) => "added latency",
            Fault::Hang(_) => "hung until the caller gave up",
        }
    }
}

impl Faults {
    fn pick(&mut self, op: &str, aas: bool, body: &[u8]) -> Option<Fault> {
        self.requests += 1;
        let text = String::from_utf8_lossy(body);
        if let Some((_, _, code, message)) = self
            .refuse
            .iter()
            .find(|(o, needle, _, _)| o == op && text.contains(needle.as_str()))
        {
            *self.injected.entry("refused").or_default() += 1;
            return Some(Fault::Refuse(code.clone(), message.clone()));
        }
        if let Some((_, d, left)) = self
            .hang
            .iter_mut()
            .find(|(o, _, left)| o == op && *left != Some(0))
        {
            let d = *d;
            if let Some(n) = left {
                *n -= 1;
            }
            *self.injected.entry(Fault::Hang(d).name()).or_default() += 1;
            return Some(Fault::Hang(d));
        }
        if let Some(n) = self.throttle_every.filter(|_| aas) {
            self.seen += 1;
            if self.seen.is_multiple_of(n) {
                *self.injected.entry(Fault::Throttling.name()).or_default() += 1;
                return Some(Fault::Throttling);
            }
        }
        let (plan, rng) = self.plan.as_mut()?;
        if rng.f64() >= plan.rate {
            return None;
        }
        let write = WRITES.contains(&op);
        let fault = match rng.u32(0..100) {
            0..30 => Fault::Throttling,
            30..45 if aas && write => Fault::ConcurrentUpdate,
            30..60 => Fault::Internal,
            60..70 => Fault::Unavailable,
            70..80 => Fault::DropBefore,
            80..90 => Fault::DropAfter,
            _ => Fault::Slow(Duration::from_millis(
                rng.u64(200..=plan.max_latency.as_millis().max(201) as u64),
            )),
        };
        *self.injected.entry(fault.name()).or_default() += 1;
        Some(fault)
    }
}

impl Proxy {
    pub fn start(upstream: u16) -> Proxy {
        Proxy::start_with_latency(upstream, Duration::ZERO)
    }

    /// A proxy that holds every call for `latency` first, as a far-away AWS region would, so
    /// that parallel calls overlap clearly and sequential ones do not.
    pub fn start_with_latency(upstream: u16, latency: Duration) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let faults = Arc::new(Mutex::new(Faults::default()));
        let (log, f) = (calls.clone(), faults.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (log, f) = (log.clone(), f.clone());
                std::thread::spawn(move || proxy_connection(stream, upstream, latency, log, f));
            }
        });
        Proxy {
            port,
            calls,
            faults,
        }
    }

    /// Answers every n-th Application Auto Scaling call with AWS's ThrottlingException
    /// (`None`: stop). Returns how many were injected so far.
    pub fn throttle_every(&self, n: Option<usize>) -> usize {
        let mut f = self.faults.lock().expect("faults");
        f.throttle_every = n;
        f.injected
            .get(Fault::Throttling.name())
            .copied()
            .unwrap_or(0)
    }

    /// Starts (or with `None`, stops) a seeded schedule of faults on every call.
    pub fn faults(&self, plan: Option<FaultPlan>) {
        let mut f = self.faults.lock().expect("faults");
        f.plan = plan.map(|p| {
            let rng = fastrand::Rng::with_seed(p.seed);
            (p, rng)
        });
    }

    /// Holds every call to `op` for `delay`, then drops it unsent (empty: stop).
    pub fn hang(&self, op: &str, delay: Option<Duration>) {
        let mut f = self.faults.lock().expect("faults");
        f.hang.retain(|(o, _, _)| o != op);
        if let Some(d) = delay {
            f.hang.push((op.to_string(), d, None));
        }
    }

    /// Holds the next `times` calls to `op` for `delay`, then drops them unsent.
    pub fn hang_next(&self, op: &str, delay: Duration, times: usize) {
        let mut f = self.faults.lock().expect("faults");
        f.hang.retain(|(o, _, _)| o != op);
        f.hang.push((op.to_string(), delay, Some(times)));
    }

    /// Answers every call to `op` whose request body contains `needle` with AWS's error
    /// `code` (HTTP 400), as AWS does when it refuses a request that moto accepts.
    pub fn refuse(&self, op: &str, needle: &str, code: &str, message: &str) {
        self.faults.lock().expect("faults").refuse.push((
            op.to_string(),
            needle.to_string(),
            code.to_string(),
            message.to_string(),
        ));
    }

    /// Stops every refusal.
    pub fn stop_refusing(&self) {
        self.faults.lock().expect("faults").refuse.clear();
    }

    /// Every request the proxy received, answered or not.
    /// Freezes the answers of `op`: the next call's answer is given again to every later
    /// call, whatever the truth (a lagging listing, such as the Tagging API's).
    pub fn freeze(&self, op: &str) {
        self.faults
            .lock()
            .expect("faults")
            .frozen
            .push((op.to_string(), None));
    }

    pub fn requests(&self) -> usize {
        self.faults.lock().expect("faults").requests
    }

    /// The faults injected so far, by kind.
    pub fn injected(&self) -> BTreeMap<&'static str, usize> {
        self.faults.lock().expect("faults").injected.clone()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("calls").clone()
    }

    pub fn clear(&self) {
        self.calls.lock().expect("calls").clear();
    }

    /// How many calls of `op` the proxy saw.
    pub fn count(&self, op: &str) -> usize {
        self.calls().iter().filter(|c| c.op == op).count()
    }

    pub fn ops(&self) -> Vec<String> {
        self.calls().into_iter().map(|c| c.op).collect()
    }

    pub fn writes(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| WRITES.contains(&c.op.as_str()))
            .collect()
    }

    /// The writes that change scaling (Application Auto Scaling, CloudWatch alarms): all but
    /// the status tag, which is how a rejection is told on the resource.
    pub fn scaling_writes(&self) -> Vec<Call> {
        self.writes()
            .into_iter()
            .filter(|c| c.op != "AddTags")
            .collect()
    }

    /// The calls with start and end times relative to the first, for failure messages.
    pub fn timeline(&self) -> String {
        let mut calls = self.calls();
        calls.sort_by_key(|c| c.started);
        let Some(t0) = calls.first().map(|c| c.started) else {
            return "no calls".into();
        };
        calls
            .iter()
            .map(|c| {
                format!(
                    "{:>7.1} ms → {:>7.1} ms  {}",
                    (c.started - t0).as_secs_f64() * 1e3,
                    (c.ended - t0).as_secs_f64() * 1e3,
                    c.op
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The longest chain of calls each of which started after the previous one ended: the
    /// number of sequential round trips.
    pub fn depth(&self) -> usize {
        let calls = self.calls();
        let mut depth: Vec<usize> = Vec::with_capacity(calls.len());
        let mut order: Vec<&Call> = calls.iter().collect();
        order.sort_by_key(|c| c.started);
        for (i, c) in order.iter().enumerate() {
            let before = order[..i]
                .iter()
                .zip(&depth)
                .filter(|(p, _)| p.ended <= c.started)
                .map(|(_, d)| *d)
                .max()
                .unwrap_or(0);
            depth.push(before + 1);
        }
        depth.into_iter().max().unwrap_or(0)
    }
}

fn proxy_connection(
    stream: TcpStream,
    upstream: u16,
    latency: Duration,
    log: Arc<Mutex<Vec<Call>>>,
    faults: Arc<Mutex<Faults>>,
) {
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    while let Ok(Some(req)) = http::read_request(&mut reader) {
        let started = Instant::now();
        // awsJson names the operation in X-Amz-Target; Smithy RPC v2 CBOR (CloudWatch) in
        // the path's last segment.
        let cbor = req.header("smithy-protocol") == Some("rpc-v2-cbor");
        let op = if cbor {
            req.path.rsplit('/').next().unwrap_or("?").to_string()
        } else {
            req.header("x-amz-target")
                .and_then(|t| t.rsplit('.').next())
                .unwrap_or("?")
                .to_string()
        };
        std::thread::sleep(latency);
        let aas = req
            .header("x-amz-target")
            .is_some_and(|t| t.starts_with("AnyScaleFrontendService."));
        // Decide under the lock (the schedule is seeded), act outside it.
        let fault = faults.lock().expect("faults").pick(&op, aas, &req.body);
        let error = |status: u16, code: &str, message: &str| {
            if cbor {
                return Ok(cbor_error(status, code, message));
            }
            Ok((
                status,
                vec![(
                    "Content-Type".to_string(),
                    "application/x-amz-json-1.1".to_string(),
                )],
                format!(r#"{{"__type":"{code}","message":"{message}"}}"#).into_bytes(),
            ))
        };
        let upstream_addr = format!("127.0.0.1:{upstream}");
        let frozen = faults.lock().expect("faults").frozen_answer(&op);
        let forwarded = match fault {
            None => match frozen {
                Some(answer) => Ok(answer),
                None => http::forward(&upstream_addr, &req).inspect(|answer| {
                    faults.lock().expect("faults").keep(&op, answer);
                }),
            },
            Some(Fault::Refuse(code, message)) => error(400, &code, &message),
            Some(Fault::Throttling) => error(400, "ThrottlingException", "Rate exceeded"),
            Some(Fault::ConcurrentUpdate) => error(
                400,
                "ConcurrentUpdateException",
                "There is already a pending update to this scalable target",
            ),
            Some(Fault::Internal) if aas => {
                error(500, "InternalServiceException", "Internal error")
            }
            Some(Fault::Internal) => error(500, "InternalFailure", "An internal error occurred"),
            Some(Fault::Unavailable) => Ok((503, Vec::new(), b"Service Unavailable".to_vec())),
            Some(Fault::DropBefore) => return,
            Some(Fault::DropAfter) => {
                let _ = http::forward(&upstream_addr, &req);
                return;
            }
            Some(Fault::Slow(d)) => {
                std::thread::sleep(d);
                http::forward(&upstream_addr, &req)
            }
            Some(Fault::Hang(d)) => {
                std::thread::sleep(d);
                return;
            }
        };
        let Ok((status, headers, body)) = forwarded else {
            return;
        };
        let ended = Instant::now();
        log.lock().expect("log").push(Call {
            op,
            body: if cbor {
                json!({ "cbor_bytes": req.body.len() })
            } else {
                serde_json::from_slice(&req.body).unwrap_or(Value::Null)
            },
            started,
            ended,
            status,
        });
        if http::write_response(&mut writer, status, &headers, &body).is_err() {
            return;
        }
    }
}

/// An error as a Smithy RPC v2 CBOR service answers it, for CloudWatch (awsQueryCompatible:
/// the SDK reads the query error code from `x-amzn-query-error`). CloudWatch's codes differ
/// from the JSON services': its throttling code is `Throttling`.
fn cbor_error(status: u16, code: &str, message: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let code = match code {
        "ThrottlingException" => "Throttling",
        "InternalServiceException" | "InternalFailure" => "InternalServiceError",
        other => other,
    };
    fn text(out: &mut Vec<u8>, s: &str) {
        let n = s.len();
        match n {
            0..=23 => out.push(0x60 | n as u8),
            24..=255 => out.extend([0x78, n as u8]),
            _ => out.extend([0x79, (n >> 8) as u8, n as u8]),
        }
        out.extend(s.as_bytes());
    }
    let mut body = vec![0xa2];
    text(&mut body, "__type");
    text(&mut body, &format!("com.amazonaws.cloudwatch#{code}"));
    text(&mut body, "message");
    text(&mut body, message);
    let sender = if status >= 500 { "Receiver" } else { "Sender" };
    let headers = [
        ("Content-Type", "application/cbor".to_string()),
        ("smithy-protocol", "rpc-v2-cbor".to_string()),
        ("x-amzn-query-error", format!("{code};{sender}")),
    ];
    (
        status,
        headers
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        body,
    )
}

type Outcome = Result<Value, Value>;

#[derive(Default)]
struct RuntimeState {
    queue: VecDeque<(String, Vec<u8>)>,
    results: HashMap<String, Outcome>,
    init_error: Option<Value>,
    deadline_ms: u64,
    /// When each invocation was handed out, and how long each took to answer.
    served: HashMap<String, Instant>,
    durations: Vec<Duration>,
}

/// A Lambda Runtime API stand-in: hands events to the function, collects what it answers.
pub struct RuntimeApi {
    pub port: u16,
    state: Arc<(Mutex<RuntimeState>, Condvar)>,
    next_id: Mutex<u64>,
}

impl RuntimeApi {
    pub fn start(timeout: Duration) -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind runtime api");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new((
            Mutex::new(RuntimeState {
                deadline_ms: timeout.as_millis() as u64,
                ..RuntimeState::default()
            }),
            Condvar::new(),
        ));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || runtime_connection(stream, shared));
            }
        });
        RuntimeApi {
            port,
            state,
            next_id: Mutex::new(0),
        }
    }

    /// Delivers one event and waits for the function's answer: Ok(response) or Err(error body).
    pub fn invoke(&self, payload: &Value) -> Outcome {
        self.invoke_raw(&serde_json::to_vec(payload).expect("json"))
    }

    /// Delivers any bytes as the payload, JSON or not.
    pub fn invoke_raw(&self, payload: &[u8]) -> Outcome {
        let id = {
            let mut n = self.next_id.lock().expect("id");
            *n += 1;
            format!("req-{n}")
        };
        let (lock, cv) = &*self.state;
        lock.lock()
            .expect("state")
            .queue
            .push_back((id.clone(), payload.to_vec()));
        cv.notify_all();
        let limit = Instant::now() + Duration::from_secs(120);
        let mut state = lock.lock().expect("state");
        loop {
            if let Some(r) = state.results.remove(&id) {
                return r;
            }
            if let Some(e) = &state.init_error {
                return Err(e.clone());
            }
            assert!(
                Instant::now() < limit,
                "no answer from the function for {id}"
            );
            state = cv
                .wait_timeout(state, Duration::from_millis(100))
                .expect("wait")
                .0;
        }
    }

    /// How long each answered invocation took, from /next to its answer.
    pub fn durations(&self) -> Vec<Duration> {
        self.state.0.lock().expect("state").durations.clone()
    }

    /// The deadline each invocation is given.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.state.0.lock().expect("state").deadline_ms)
    }
}

fn runtime_connection(stream: TcpStream, shared: Arc<(Mutex<RuntimeState>, Condvar)>) {
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    let (lock, cv) = &*shared;
    while let Ok(Some(req)) = http::read_request(&mut reader) {
        let path = req.path.trim_start_matches("/2018-06-01/runtime");
        if req.method == "GET" && path == "/invocation/next" {
            let mut state = lock.lock().expect("state");
            let (id, payload) = loop {
                if let Some(next) = state.queue.pop_front() {
                    break next;
                }
                state = cv.wait(state).expect("wait");
            };
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("clock")
                .as_millis() as u64
                + state.deadline_ms;
            state.served.insert(id.clone(), Instant::now());
            drop(state);
            let headers = vec![
                ("Content-Type".into(), "application/json".into()),
                ("Lambda-Runtime-Aws-Request-Id".into(), id),
                ("Lambda-Runtime-Deadline-Ms".into(), deadline.to_string()),
                (
                    "Lambda-Runtime-Invoked-Function-Arn".into(),
                    "arn:aws:lambda:us-east-1:123456789012:function:scaletag".into(),
                ),
                (
                    "Lambda-Runtime-Trace-Id".into(),
                    "Root=1-00000000-000000000000000000000000".into(),
                ),
            ];
            if http::write_response(&mut writer, 200, &headers, &payload).is_err() {
                return;
            }
            continue;
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        {
            let mut state = lock.lock().expect("state");
            let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            if let ["invocation", id, _] = parts.as_slice()
                && let Some(t) = state.served.remove(*id)
            {
                state.durations.push(t.elapsed());
            }
            match parts.as_slice() {
                ["invocation", id, "response"] => {
                    state.results.insert(id.to_string(), Ok(body));
                }
                ["invocation", id, "error"] => {
                    state.results.insert(id.to_string(), Err(body));
                }
                ["init", "error"] => state.init_error = Some(body),
                _ => {}
            }
        }
        cv.notify_all();
        if http::write_response(&mut writer, 202, &[], b"{\"status\":\"OK\"}").is_err() {
            return;
        }
    }
}

/// The real binary, running as Lambda would run it.
pub struct Function {
    child: Child,
    pub logs: Arc<Mutex<Vec<String>>>,
}

impl Function {
    pub fn start(runtime_port: u16, aws_port: u16, env: &[(&str, &str)]) -> Function {
        let mut cmd = Command::new(binary("scaletag-lambda"));
        cmd.env_clear()
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("127.0.0.1:{runtime_port}"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", "scaletag")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/scaletag")
            .env("AWS_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{aws_port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start scaletag");
        let logs = Arc::new(Mutex::new(Vec::new()));
        for pipe in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let logs = logs.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    logs.lock().expect("logs").push(line);
                }
            });
        }
        Function { child, logs }
    }

    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().expect("logs").clone()
    }

    /// Waits for the process to exit by itself; its exit code.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let limit = Instant::now() + within;
        while Instant::now() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the `scaletag` command line against `aws_port`; (exit code, stdout, stderr).
pub fn cli(aws_port: u16, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(binary("scaletag"))
        .args(args)
        .env_clear()
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{aws_port}"))
        .current_dir(repo())
        .output()
        .expect("run scaletag");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// As [`cli`], with `--output json`, parsed.
pub fn cli_json(aws_port: u16, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = cli(aws_port, &all);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}\n{err}"));
    (code, v)
}

/// The answer of an invocation that must succeed.
pub fn ok(r: Result<Value, Value>) -> Value {
    r.unwrap_or_else(|e| panic!("invocation failed: {e}"))
}

/// The scheduled event that starts a sweep, as EventBridge delivers it. A sweep acts on every
/// endpoint and inference component of the (shared) moto server, so each test that sweeps
/// lives in a test file of its own: its own process, its own server.
pub fn sweep_event() -> Value {
    json!({"version": "0", "id": "5e0c7a2b-0000-4000-8000-000000000002",
        "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012",
        "time": "2026-11-29T10:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/scaletag-Sweep"], "detail": {}})
}

/// The CloudTrail event of an API call on the inference component `ic` (`arn`), from a sample
/// in events/, as EventBridge delivers it.
pub fn api_call(file: &str, ic: &str, arn: &str) -> Value {
    let text = std::fs::read_to_string(repo().join("events").join(file)).expect("event file");
    let mut v: Value = serde_json::from_str(&text).expect("event json");
    let detail = &mut v["detail"];
    if detail["requestParameters"]
        .get("inferenceComponentName")
        .is_some()
    {
        detail["requestParameters"]["inferenceComponentName"] = json!(ic);
        detail["responseElements"]["inferenceComponentArn"] = json!(arn);
    }
    if detail["requestParameters"].get("resourceArn").is_some() {
        detail["requestParameters"]["resourceArn"] = json!(arn);
    }
    v
}

/// Reads an event from `events/`, renamed for a test's own endpoint.
pub fn event(file: &str, endpoint: &str, arn: &str) -> Value {
    let text = std::fs::read_to_string(repo().join("events").join(file)).expect("event file");
    let mut v: Value = serde_json::from_str(&text).expect("event json");
    if v["source"] == "aws.sagemaker" {
        v["detail"]["EndpointName"] = json!(endpoint);
        v["detail"]["EndpointArn"] = json!(arn);
        v["resources"] = json!([arn]);
    }
    v
}
