//! `moto_server` (PyPI moto[server]) on 127.0.0.1, recording every request, so the
//! real AWS SDK can be tested against Secrets Manager and Lambda without AWS.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_secretsmanager::config::Credentials;
use serde_json::Value;

/// A tool from the venv `scripts/test.sh` makes (`INDEX_PILOT_TOOLS_BIN` overrides).
pub fn tool(name: &str) -> PathBuf {
    let dir = std::env::var_os("INDEX_PILOT_TOOLS_BIN")
        .map(PathBuf::from)
        // This crate lives in tests/common: the venv is at the repository's root.
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../.venv-tools/bin"
            ))
        });
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: scripts/test.sh installs it (or set INDEX_PILOT_TOOLS_BIN)",
        path.display()
    );
    path
}

pub struct Moto {
    pub port: u16,
    child: Child,
    recording: PathBuf,
    _dir: tempfile::TempDir,
}

impl Moto {
    pub fn start() -> Moto {
        let dir = tempfile::tempdir().expect("temporary directory");
        let recording = dir.path().join("requests.jsonl");
        let port = super::free_port();
        let log = std::fs::File::create(dir.path().join("moto.log")).expect("moto log");
        let child = Command::new(tool("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_ENABLE_RECORDING", "True")
            .env("MOTO_RECORDER_FILEPATH", &recording)
            .stdout(log.try_clone().expect("moto log"))
            .stderr(log)
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            port,
            child,
            recording,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        // Lambda without Docker: invocations are accepted and answered, not run.
        moto.post("/moto-api/config", r#"{"lambda": {"use_docker": false}}"#);
        moto
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn post(&self, path: &str, body: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("write to moto");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .expect("read from moto");
        assert!(
            response.starts_with("HTTP/1.1 20") || response.starts_with("HTTP/1.0 20"),
            "{response}"
        );
        response
    }

    /// The real SDK, pointed at this server with dummy credentials.
    pub async fn sdk(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.endpoint())
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .load()
            .await
    }

    /// Runs a Python snippet with boto3 (it comes with moto) against this server.
    pub fn python(&self, script: &str) -> String {
        let output = Command::new(tool("python"))
            .args(["-c", script])
            .env("AWS_ENDPOINT_URL", self.endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .stdin(Stdio::null())
            .output()
            .expect("run python");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// A Lambda function (and the IAM role it needs); returns its ARN.
    pub fn create_function(&self, name: &str) -> String {
        self.python(&format!(
            r#"
import io, json, zipfile, boto3
role = boto3.client("iam").create_role(
    RoleName="{name}-role",
    AssumeRolePolicyDocument=json.dumps({{"Version": "2012-10-17", "Statement": []}}),
)["Role"]["Arn"]
code = io.BytesIO()
with zipfile.ZipFile(code, "w") as z:
    z.writestr("bootstrap", "")
print(boto3.client("lambda").create_function(
    FunctionName="{name}", Runtime="provided.al2023", Role=role, Handler="bootstrap",
    Code={{"ZipFile": code.getvalue()}},
)["FunctionArn"])
"#
        ))
    }

    /// Every request the server has received, oldest first, bodies as text.
    pub fn requests(&self) -> Vec<Value> {
        use base64::Engine;
        std::fs::read_to_string(&self.recording)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .map(|mut request| {
                if request["body_encoded"] == true {
                    let decoded = request["body"]
                        .as_str()
                        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
                    request["body"] = Value::from(decoded.unwrap_or_default());
                }
                request
            })
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
