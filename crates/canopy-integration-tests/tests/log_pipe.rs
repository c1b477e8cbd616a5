//! The real binary with its log (stderr) on a pipe that misbehaves: nobody reads it, or its
//! reader is gone. The log is best effort; serving and shutting down must not depend on it.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};

use common::*;

/// `canopy serve` on a memory store with the request log on (CANOPY_LOG=info) into a pipe;
/// returns the process, its address and the pipe's read end.
async fn serve_with_piped_log() -> (Child, std::net::SocketAddr, ChildStderr) {
    let mut child = Command::new(canopy_binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--database", "memory"])
        .env("CANOPY_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn canopy");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await.expect("listening line").unwrap().unwrap();
    let addr = line.strip_prefix("canopy listening on http://").and_then(|r| r.split_whitespace().next()).expect("address");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let stderr = child.stderr.take().unwrap();
    (child, addr.parse().unwrap(), stderr)
}

/// Enough requests for several times a pipe's 64 KiB of log lines, each answered in time.
async fn serve_many(addr: std::net::SocketAddr) {
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: AWSOrganizationsV20161128.DescribeOrganization\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=111111111111/20250101/us-east-1/organizations/aws4_request, SignedHeaders=host, Signature=00\r\n\
         Content-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    );
    for i in 0..2_000 {
        let (status, _) = tokio::time::timeout(Duration::from_secs(5), raw_exchange(addr, &request))
            .await
            .unwrap_or_else(|_| panic!("request {i} was not answered within 5 s"));
        assert_eq!(status, 400, "request {i}: AWSOrganizationsNotInUseException");
    }
}

/// SIGTERM, then the exit status within the 10 s drain and the log's 1 s last flush.
async fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let pid = child.id().expect("running").to_string();
    let sent = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(sent.success());
    let started = Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(12), child.wait()).await.expect("exited after SIGTERM").unwrap();
    assert!(started.elapsed() < Duration::from_secs(12));
    status
}

#[tokio::test]
async fn a_log_nobody_reads_holds_up_no_request_and_no_shutdown() {
    let (mut child, addr, stderr) = serve_with_piped_log().await;
    serve_many(addr).await;
    assert!(terminate(&mut child).await.success());
    drop(stderr);
}

#[tokio::test]
async fn a_log_whose_reader_is_gone_does_not_stop_the_server() {
    let (mut child, addr, stderr) = serve_with_piped_log().await;
    drop(stderr);
    serve_many(addr).await;
    let status = terminate(&mut child).await;
    assert!(status.success(), "exit status {status:?} (101 is a panic)");
}
