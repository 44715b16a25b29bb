//! End-to-end harness: a real moto server, a recording proxy in front of it, a Lambda Runtime
//! API stand-in, and the real `scaletag` binary talking to both.
#![allow(dead_code)]

pub mod fixture;
pub mod http;

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

pub const REGION: &str = "us-east-1";
pub const WRITES: [&str; 4] = [
    "RegisterScalableTarget",
    "PutScalingPolicy",
    "DeleteScalingPolicy",
    "DeregisterScalableTarget",
];

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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
    injected: usize,
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
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("calls").clone()
    }

    pub fn clear(&self) {
        self.calls.lock().expect("calls").clear();
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
        let op = req
            .header("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("?")
            .to_string();
        std::thread::sleep(latency);
        let throttle = {
            let mut f = faults.lock().expect("faults");
            let aas = req
                .header("x-amz-target")
                .is_some_and(|t| t.starts_with("AnyScaleFrontendService."));
            match f.throttle_every {
                Some(n) if aas => {
                    f.seen += 1;
                    let hit = f.seen % n == 0;
                    f.injected += usize::from(hit);
                    hit
                }
                _ => false,
            }
        };
        let forwarded = if throttle {
            Ok((
                400,
                vec![(
                    "Content-Type".to_string(),
                    "application/x-amz-json-1.1".to_string(),
                )],
                br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_vec(),
            ))
        } else {
            http::forward(&format!("127.0.0.1:{upstream}"), &req)
        };
        let Ok((status, headers, body)) = forwarded else {
            return;
        };
        let ended = Instant::now();
        log.lock().expect("log").push(Call {
            op,
            body: serde_json::from_slice(&req.body).unwrap_or(Value::Null),
            started,
            ended,
            status,
        });
        if http::write_response(&mut writer, status, &headers, &body).is_err() {
            return;
        }
    }
}

type Outcome = Result<Value, Value>;

#[derive(Default)]
struct RuntimeState {
    queue: VecDeque<(String, Value)>,
    results: HashMap<String, Outcome>,
    init_error: Option<Value>,
    deadline_ms: u64,
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
        let id = {
            let mut n = self.next_id.lock().expect("id");
            *n += 1;
            format!("req-{n}")
        };
        let (lock, cv) = &*self.state;
        lock.lock()
            .expect("state")
            .queue
            .push_back((id.clone(), payload.clone()));
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

    /// Waits for the function to report an init error (it must, with a bad configuration).
    pub fn init_error(&self, within: Duration) -> Option<Value> {
        let (lock, cv) = &*self.state;
        let limit = Instant::now() + within;
        let mut state = lock.lock().expect("state");
        while state.init_error.is_none() && Instant::now() < limit {
            state = cv
                .wait_timeout(state, Duration::from_millis(50))
                .expect("wait")
                .0;
        }
        state.init_error.clone()
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
            let body = serde_json::to_vec(&payload).expect("json");
            if http::write_response(&mut writer, 200, &headers, &body).is_err() {
                return;
            }
            continue;
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        {
            let mut state = lock.lock().expect("state");
            let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
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
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scaletag-lambda"));
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

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
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
    let out = Command::new(env!("CARGO_BIN_EXE_scaletag"))
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

pub fn path_exists(p: &Path) -> bool {
    p.exists()
}
