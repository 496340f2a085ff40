//! A minimal path-style S3 endpoint on loopback for the CLI tests: GetObject
//! and paginated ListObjectsV2 over a [`MemoryStore`], `NoSuchBucket` and
//! `NoSuchKey` errors, and PutObject and multipart uploads into it (plain
//! bodies: clients must not send aws-chunked ones). One request per
//! connection.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use incx_cli::chain::MemoryStore;

/// Keys per ListObjectsV2 page, small so that pagination is exercised.
const PAGE: usize = 3;

/// Serves `store` as bucket `bucket`; returns the endpoint URL.
pub fn serve(bucket: &str, store: MemoryStore) -> String {
    serve_shared(bucket, store).0
}

/// Serves `store` as bucket `bucket`; the endpoint URL and the store, to
/// see what was uploaded.
pub fn serve_shared(bucket: &str, store: MemoryStore) -> (String, Arc<Mutex<MemoryStore>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let bucket = bucket.to_string();
    let shared = Arc::new(Mutex::new(store));
    let store = Arc::clone(&shared);
    thread::spawn(move || {
        let mut parts = BTreeMap::new();
        for stream in listener.incoming().flatten() {
            let mut store = store.lock().unwrap_or_else(|p| p.into_inner());
            handle(stream, &bucket, &mut store, &mut parts);
        }
    });
    (url, shared)
}

/// Parts of multipart uploads: (key, part number) to bytes.
type Parts = BTreeMap<(String, u32), Vec<u8>>;

fn handle(mut stream: TcpStream, bucket: &str, store: &mut MemoryStore, parts: &mut Parts) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut length = 0;
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header == "\r\n" => break,
            Ok(_) => {
                if let Some((name, value)) = header.split_once(':') {
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
            }
        }
    }
    let mut sent = vec![0; length];
    if reader.read_exact(&mut sent).is_err() {
        return;
    }
    let method = request_line.split_whitespace().next().unwrap_or("GET");
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = decode(path.trim_start_matches('/'));
    let (req_bucket, key) = path.split_once('/').unwrap_or((path.as_str(), ""));
    let param = |name: &str| {
        query
            .split('&')
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| decode(v))
    };
    let (status, body) = if req_bucket != bucket {
        (
            404,
            error_xml("NoSuchBucket", "The specified bucket does not exist"),
        )
    } else if key.is_empty() {
        (200, list_xml(bucket, store, query).into_bytes())
    } else if method == "POST" && param("uploads").is_some() {
        let xml = format!("<InitiateMultipartUploadResult><Bucket>{bucket}</Bucket><Key>{key}</Key><UploadId>upload-1</UploadId></InitiateMultipartUploadResult>");
        (200, xml.into_bytes())
    } else if method == "PUT" && param("uploadId").is_some() {
        let number = param("partNumber")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        parts.insert((key.to_string(), number), sent);
        (200, Vec::new())
    } else if method == "POST" && param("uploadId").is_some() {
        let mut whole = Vec::new();
        let mine: Vec<(String, u32)> = parts.keys().filter(|(k, _)| k == key).cloned().collect();
        for part in mine {
            whole.extend(parts.remove(&part).unwrap_or_default());
        }
        store.put(key, whole);
        let xml = format!("<CompleteMultipartUploadResult><Bucket>{bucket}</Bucket><Key>{key}</Key><ETag>\"whole\"</ETag></CompleteMultipartUploadResult>");
        (200, xml.into_bytes())
    } else if method == "DELETE" {
        parts.retain(|(k, _), _| k != key);
        (204, Vec::new())
    } else if method == "PUT" {
        store.put(key, sent);
        (200, Vec::new())
    } else {
        match store.body(key) {
            Some(body) => (200, body.to_vec()),
            None => (
                404,
                error_xml("NoSuchKey", "The specified key does not exist."),
            ),
        }
    };
    let reason = match status {
        200 => "OK",
        204 => "No Content",
        _ => "Not Found",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nContent-Type: application/xml\r\nETag: \"etag\"\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}

fn list_xml(bucket: &str, store: &MemoryStore, query: &str) -> String {
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| decode(v))
    };
    let prefix = param("prefix").unwrap_or_default();
    let start: usize = param("continuation-token")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let keys: Vec<&str> = store.keys().filter(|k| k.starts_with(&prefix)).collect();
    let page: Vec<&str> = keys.iter().skip(start).take(PAGE).copied().collect();
    let next = start + page.len();
    let truncated = next < keys.len();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>{bucket}</Name><Prefix>{prefix}</Prefix><KeyCount>{}</KeyCount><MaxKeys>{PAGE}</MaxKeys><IsTruncated>{truncated}</IsTruncated>",
        page.len()
    );
    if truncated {
        xml.push_str(&format!(
            "<NextContinuationToken>{next}</NextContinuationToken>"
        ));
    }
    for key in page {
        let size = store.body(key).map_or(0, <[u8]>::len);
        xml.push_str(&format!(
            "<Contents><Key>{key}</Key><Size>{size}</Size></Contents>"
        ));
    }
    xml.push_str("</ListBucketResult>");
    xml
}

fn error_xml(code: &str, message: &str) -> Vec<u8> {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>")
        .into_bytes()
}

/// Percent-decoding of a URL path or query value.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
