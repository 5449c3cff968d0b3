//! The C2SP tlog-tiles interface over HTTP/1.1, on the gRPC port: `/checkpoint`, hash tiles and
//! entry bundles agree with what the log says over gRPC, carry the right caching, and malformed
//! or out-of-range requests are refused without harm.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use certlog_log::entry_bundle::parse_entry_bundle;
use certlog_tests::{HttpResponse, Log, example, success, verify};
use certlog_verifier::merkle::{EMPTY_ROOT, leaf_hash, root_of};
use certlog_verifier::{Hash, SignedCheckpoint};
use tonic_health::pb::health_check_response::ServingStatus;

/// A log holding a registration, the four valid examples and a revocation.
fn populated_log() -> Log {
    let log = Log::start();
    let cb = log.certifier("cb.example", &["EUCC", "Matter", "NESAS", "SG-CLS"]);
    for file in [
        "eucc-camera.json",
        "matter-plug.json",
        "nesas-gnb.json",
        "etsi-303645-thermostat.json",
    ] {
        log.submit(&example(file), &cb);
    }
    log.cli_json(&[
        "revoke",
        "--scheme",
        "NESAS",
        "--id",
        "NESAS-2026-0815-GNB",
        "--reason",
        "withdrawn by the vendor",
        "--key",
        cb.key_arg(),
        "--wait",
    ]);
    log
}

/// The max-age of a Cache-Control header.
fn max_age(response: &HttpResponse) -> u64 {
    let cache = response.header("cache-control").expect("no Cache-Control");
    cache
        .split(',')
        .find_map(|d| d.trim().strip_prefix("max-age="))
        .unwrap_or_else(|| panic!("no max-age in {cache:?}"))
        .parse()
        .unwrap()
}

fn get_ok(log: &Log, path: &str) -> HttpResponse {
    let response = log.http_get(path);
    assert_eq!(response.status, 200, "GET {path}: {}", response.text());
    response
}

#[test]
fn checkpoint_over_http_is_the_signed_checkpoint_of_grpc() {
    let log = populated_log();
    let response = get_ok(&log, "/checkpoint");
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "{:?}",
        response.headers
    );
    // The checkpoint changes with every batch: it may be cached for a few seconds at most.
    let cache = response.header("cache-control").unwrap();
    assert!(!cache.contains("immutable"), "{cache}");
    assert!(max_age(&response) <= 10, "{cache}");

    let grpc = log.cli_json(&["checkpoint"]);
    let note = grpc["checkpoint"].as_str().unwrap();
    assert_eq!(
        response.text(),
        note,
        "HTTP and gRPC serve different checkpoints"
    );

    let signed = SignedCheckpoint::verify(&response.body, &log.log_vkey()).unwrap();
    assert_eq!(signed.checkpoint.size, grpc["tree_size"].as_u64().unwrap());
    assert_eq!(signed.checkpoint.root.to_base64(), grpc["root"]);
    let file = log.work_path("checkpoint");
    std::fs::write(&file, &response.body).unwrap();
    let output = verify(&["checkpoint", &file, "--log-vkey", &log.log_vkey_file()]);
    assert!(success(&output).starts_with("OK:"));
}

#[test]
fn tiles_and_entry_bundles_are_the_entries() {
    let log = populated_log();
    let checkpoint = log.checkpoint().checkpoint;
    let size = checkpoint.size;
    assert!(size > 1 && size < 256, "the test expects one partial tile");

    // The entries and leaf hashes, as `certlog get` gives them.
    let mut entries = Vec::new();
    let mut leaves = Vec::new();
    for index in 0..size {
        let file = log.work_path(&format!("entry-{index}"));
        let json = log.cli_json(&["get", "--index", &index.to_string(), "--out", &file]);
        let bytes = std::fs::read(&file).unwrap();
        let leaf = Hash::from_base64(json["leaf_hash"].as_str().unwrap()).unwrap();
        assert_eq!(leaf, leaf_hash(&bytes));
        entries.push(bytes);
        leaves.push(leaf);
    }
    assert_eq!(root_of(&leaves), checkpoint.root);

    // The level-0 tile of the tree is its leaf hashes.
    let tile = get_ok(&log, &format!("/tile/0/000.p/{size}"));
    assert_eq!(tile.body.len(), 32 * size as usize);
    let tiled: Vec<Hash> = tile
        .body
        .chunks(32)
        .map(|h| Hash::from_slice(h).unwrap())
        .collect();
    assert_eq!(tiled, leaves);
    let cache = tile.header("cache-control").unwrap();
    assert!(cache.contains("immutable"), "{cache}");
    assert!(max_age(&tile) >= 86_400, "{cache}");

    // The entry bundle is the entries, byte for byte.
    let bundle = get_ok(&log, &format!("/tile/entries/000.p/{size}"));
    let parsed = parse_entry_bundle(&bundle.body).unwrap();
    assert_eq!(
        parsed,
        entries.iter().map(Vec::as_slice).collect::<Vec<_>>()
    );
    assert!(
        bundle
            .header("cache-control")
            .unwrap()
            .contains("immutable")
    );

    // Narrower partial tiles, of earlier tree sizes, are prefixes.
    for width in 1..size {
        let tile = get_ok(&log, &format!("/tile/0/000.p/{width}"));
        assert_eq!(
            tile.body,
            get_ok(&log, &format!("/tile/0/000.p/{size}")).body[..32 * width as usize]
        );
        let bundle = get_ok(&log, &format!("/tile/entries/000.p/{width}"));
        assert_eq!(
            parse_entry_bundle(&bundle.body).unwrap(),
            entries[..width as usize]
                .iter()
                .map(Vec::as_slice)
                .collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn bad_tile_requests_are_refused_and_harmless() {
    let log = populated_log();
    let size = log.tree_size();
    assert!(size < 256);

    // Tiles the tree does not have (yet): 404, and not cacheable for long, since they will
    // exist later.
    for path in [
        format!("/tile/0/000.p/{}", size + 1),
        format!("/tile/entries/000.p/{}", size + 1),
        "/tile/0/000".into(),
        "/tile/entries/000".into(),
        "/tile/0/001.p/1".into(),
        "/tile/0/x001/000".into(),
        "/tile/1/000.p/1".into(),
        "/tile/63/000.p/1".into(),
    ] {
        let response = log.http_get(&path);
        assert_eq!(response.status, 404, "GET {path}: {}", response.text());
        let cache = response.header("cache-control").unwrap_or("");
        assert!(!cache.contains("immutable"), "GET {path}: {cache}");
    }

    // Malformed tile paths: 400.
    for path in [
        "/tile/0/../../etc/passwd",
        "/tile/0/000/../../../etc/passwd",
        "/tile/64/000",
        "/tile/00/000",
        "/tile/-1/000",
        "/tile/x/000",
        "/tile/0/000.p/0",
        "/tile/0/000.p/256",
        "/tile/0/000.p/01",
        "/tile/0/000.p/",
        "/tile/0/000.p/1/2",
        "/tile/0/0",
        "/tile/0/0000",
        "/tile/0/x000/001",
        "/tile/0/x001",
        "/tile/0/001/",
        "/tile/entries/abc",
        "/tile/entries/000.p/0",
        "/tile/0",
        "/tile/0/%2e%2e/%2e%2e/etc/passwd",
    ] {
        let response = log.http_get(path);
        assert_eq!(response.status, 400, "GET {path}: {}", response.text());
        let cache = response.header("cache-control").unwrap_or("");
        assert!(!cache.contains("immutable"), "GET {path}: {cache}");
    }

    // The server is as healthy as before, over HTTP and gRPC.
    assert_eq!(log.tree_size(), size);
    get_ok(&log, &format!("/tile/0/000.p/{size}"));
    assert_eq!(log.health("").await, ServingStatus::Serving as i32);
    assert_eq!(
        log.health("certlog.v1.CertificateLog").await,
        ServingStatus::Serving as i32
    );
    let checkpoint = log.cli_json(&["checkpoint"]);
    assert_eq!(checkpoint["tree_size"].as_u64(), Some(size));
}

#[test]
fn an_empty_log_serves_its_empty_checkpoint_and_no_tiles() {
    let log = Log::start();
    let checkpoint = log.checkpoint().checkpoint;
    assert_eq!(checkpoint.size, 0);
    assert_eq!(checkpoint.root, EMPTY_ROOT);
    assert_eq!(checkpoint.origin, certlog_tests::DEFAULT_ORIGIN);
    for path in ["/tile/0/000.p/1", "/tile/entries/000.p/1"] {
        assert_eq!(log.http_get(path).status, 404, "GET {path}");
    }
}

#[tokio::test]
async fn full_tiles_and_higher_levels() {
    use certlog_proto::SubmitRequest;
    use certlog_proto::services::certificate_log_client::CertificateLogClient;
    use certlog_tests::{certificate, issue_entry};

    let log = Log::start();
    let cb = log.certifier("cb.example", &["EUCC"]).signing_key();
    // 300 certificates submitted at once, so that the tree has a full level-0 tile.
    let channel = tonic::transport::Channel::from_shared(log.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..300 {
        let entry = issue_entry(&cb, certificate("EUCC", &format!("EUCC-{i:04}")));
        let mut client = CertificateLogClient::new(channel.clone());
        tasks.spawn(async move {
            client
                .submit(SubmitRequest { entry, wait: false })
                .await
                .map(|r| r.into_inner())
        });
    }
    let mut indexes = Vec::new();
    while let Some(result) = tasks.join_next().await {
        let response = result.unwrap().unwrap();
        assert!(!response.duplicate);
        indexes.push(response.index);
    }
    indexes.sort_unstable();
    indexes.dedup();
    assert_eq!(indexes.len(), 300, "two submissions got the same index");

    let checkpoint = log.checkpoint().checkpoint;
    let size = checkpoint.size;
    // 300 certificates, a registration, and the map heads the log may add: a few full tiles.
    assert!(size > 300 && size < 256 * 256, "size {size}");
    let entries = log.client().await.entries(0, size).await.unwrap();
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    assert_eq!(root_of(&leaves), checkpoint.root);
    let hashes = |body: &[u8]| -> Vec<Hash> {
        body.chunks(32)
            .map(|h| Hash::from_slice(h).unwrap())
            .collect()
    };
    fn as_slices(e: &[Vec<u8>]) -> Vec<&[u8]> {
        e.iter().map(Vec::as_slice).collect()
    }
    let (full_tiles, rest) = (size / 256, size % 256);

    // Level 0 and the entry bundles: full tiles, immutable, then a partial one.
    for tile in 0..full_tiles as usize {
        let range = tile * 256..(tile + 1) * 256;
        let full = get_ok(&log, &format!("/tile/0/{tile:03}"));
        assert_eq!(hashes(&full.body), leaves[range.clone()]);
        let cache = full.header("cache-control").unwrap();
        assert!(cache.contains("immutable"), "{cache}");
        let bundle = get_ok(&log, &format!("/tile/entries/{tile:03}"));
        assert_eq!(
            parse_entry_bundle(&bundle.body).unwrap(),
            as_slices(&entries[range])
        );
    }
    let last = full_tiles as usize * 256;
    if rest > 0 {
        let partial = get_ok(&log, &format!("/tile/0/{full_tiles:03}.p/{rest}"));
        assert_eq!(hashes(&partial.body), leaves[last..]);
        let bundle = get_ok(&log, &format!("/tile/entries/{full_tiles:03}.p/{rest}"));
        assert_eq!(
            parse_entry_bundle(&bundle.body).unwrap(),
            as_slices(&entries[last..])
        );
    }
    for path in [
        format!("/tile/0/{full_tiles:03}"),
        format!("/tile/entries/{full_tiles:03}"),
        format!("/tile/0/{full_tiles:03}.p/{}", rest + 1),
    ] {
        assert_eq!(log.http_get(&path).status, 404, "GET {path}");
    }
    // Level 1: the roots of the full level-0 tiles.
    let level1 = get_ok(&log, &format!("/tile/1/000.p/{full_tiles}"));
    let roots: Vec<Hash> = leaves[..last].chunks(256).map(root_of).collect();
    assert_eq!(hashes(&level1.body), roots);
    let beyond = format!("/tile/1/000.p/{}", full_tiles + 1);
    assert_eq!(log.http_get(&beyond).status, 404);

    // Proofs that span the tiles verify offline.
    for index in [0, 255, 256, size - 1] {
        let proof = log.cli_json(&["prove", "--index", &index.to_string()]);
        assert_eq!(proof["leaf_hash"], leaves[index as usize].to_base64());
        let hashes: Vec<&str> = proof["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap())
            .collect();
        let output = verify(&[
            "inclusion",
            "--leaf-hash",
            proof["leaf_hash"].as_str().unwrap(),
            "--index",
            &index.to_string(),
            "--size",
            &size.to_string(),
            "--root",
            &checkpoint.root.to_base64(),
            "--proof",
            &hashes.join(","),
        ]);
        assert!(success(&output).starts_with("OK:"));
    }
    for old in [1, 200, 256, 257, size - 1] {
        let (_, proof, _) = log
            .client()
            .await
            .consistency_proof(old, size)
            .await
            .unwrap();
        let proof: Vec<String> = proof.iter().map(Hash::to_base64).collect();
        let output = verify(&[
            "consistency",
            "--size1",
            &old.to_string(),
            "--size2",
            &size.to_string(),
            "--root1",
            &root_of(&leaves[..old as usize]).to_base64(),
            "--root2",
            &checkpoint.root.to_base64(),
            "--proof",
            &proof.join(","),
        ]);
        assert!(success(&output).starts_with("OK:"), "from {old}");
    }
}

/// A plain HTTP request for a path that is neither a tile, the checkpoint nor a gRPC method
/// must be told that nothing is there.
#[test]
fn unknown_paths_are_404() {
    let log = Log::start();
    for path in [
        "/",
        "/nope",
        "/tile",
        "/tile/",
        "/checkpoint/",
        "/Checkpoint",
    ] {
        let response = log.http_get(path);
        assert_eq!(
            response.status,
            404,
            "GET {path}: {:?} {:?}",
            response.headers,
            response.text()
        );
    }
}

/// The value of an unlabelled sample (or of the one with `labels`) in a Prometheus text page.
fn sample(page: &str, name: &str) -> f64 {
    page.lines()
        .find_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            (key == name).then(|| value.parse().unwrap())
        })
        .unwrap_or_else(|| panic!("no sample {name} in\n{page}"))
}

#[test]
fn metrics_count_entries_batches_latency_and_refusals() {
    let log = populated_log();
    // A refusal: the certificate is already in the log.
    let cb = log.keygen("impostor.example");
    let refused = log.cli(&[
        "submit",
        example("eucc-camera.json").to_str().unwrap(),
        "--key",
        cb.key_arg(),
    ]);
    assert!(!refused.status.success());

    let response = get_ok(&log, "/metrics");
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
    );
    let page = response.text();
    let size = log.checkpoint().checkpoint.size;
    // Six submissions, each with its map head, in batches of their own: 12 entries.
    assert_eq!(size, 12);
    assert_eq!(sample(&page, "certlog_tree_size"), 12.0);
    assert_eq!(sample(&page, "certlog_entries_appended_total"), 12.0);
    assert_eq!(sample(&page, "certlog_batch_entries_count"), 6.0);
    assert_eq!(sample(&page, "certlog_batch_entries_sum"), 12.0);
    assert_eq!(sample(&page, "certlog_integration_seconds_count"), 6.0);
    assert_eq!(
        sample(
            &page,
            "certlog_rejected_submissions_total{reason=\"permission_denied\"}"
        ),
        1.0
    );
}

/// `--idle-timeout`: a client that sends half a request and then nothing is disconnected, and
/// the log goes on serving others.
#[test]
fn a_connection_that_stalls_is_closed() {
    use std::io::{Read as _, Write as _};

    let log = Log::start_with(&["--idle-timeout", "1"]);
    let mut stalled = std::net::TcpStream::connect(log.addr()).unwrap();
    stalled
        .write_all(b"GET /checkpoint HTTP/1.1\r\nHost: certlog\r\n")
        .unwrap();
    // Only a guard: the server closes the connection long before.
    stalled
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let mut rest = Vec::new();
    let closed = stalled.read_to_end(&mut rest);
    assert!(
        closed.is_ok()
            || closed
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "the stalled connection was not closed: {closed:?}"
    );
    assert!(!String::from_utf8_lossy(&rest).contains("200 OK"));
    get_ok(&log, "/checkpoint");
}

/// `--max-connections`: beyond it, a connection waits to be accepted until another closes.
#[test]
fn connections_beyond_the_limit_wait_for_a_free_place() {
    use std::io::{Read as _, Write as _};

    let log = Log::start_with(&["--max-connections", "1"]);
    let request = b"GET /checkpoint HTTP/1.1\r\nHost: certlog\r\n\r\n";
    // The one place, held by a keep-alive connection that was surely accepted: it was answered.
    let mut first = std::net::TcpStream::connect(log.addr()).unwrap();
    first.write_all(request).unwrap();
    let mut status = [0; 12];
    first.read_exact(&mut status).unwrap();
    assert_eq!(&status, b"HTTP/1.1 200");
    // A second one is not answered while the first is open (a correct log never answers it
    // here, however long this waits)...
    let mut second = std::net::TcpStream::connect(log.addr()).unwrap();
    second.write_all(request).unwrap();
    second
        .set_read_timeout(Some(std::time::Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0; 1];
    let early = second.read(&mut byte);
    assert!(early.is_err(), "answered beyond the limit: {early:?}");
    // ...and is once it closes.
    drop(first);
    second
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    second.read_exact(&mut status).unwrap();
    assert_eq!(&status, b"HTTP/1.1 200");
}
