#!/usr/bin/env python3
"""One signed (AWS SigV4) S3 request, standard library only; a curl-like tool for the probes.

    s3req.py METHOD PATH [-H 'Name: value']... [--data FILE | --data-str TEXT]
             [-o BODY_FILE] [-D HEADERS_FILE] [--endpoint URL]

PATH is /BUCKET/KEY?QUERY as it goes on the wire (query values already URL-encoded or plain).
Prints the HTTP status on stdout. Credentials, region and endpoint from AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_REGION and AWS_ENDPOINT_URL. Written because curl 7.88's
--aws-sigv4 signs query strings wrongly (Garage answers 403 "Invalid signature" to ?uploads).
"""
import argparse
import datetime
import hashlib
import hmac
import http.client
import os
import sys
import urllib.parse


def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def canonical_query(query):
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    enc = lambda s: urllib.parse.quote(s, safe="-_.~")  # noqa: E731
    return "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(pairs))


def request(method, path, headers, body, endpoint):
    access, secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
    region = os.environ.get("AWS_REGION", "garage")
    url = urllib.parse.urlsplit(endpoint)
    raw_path, _, query = path.partition("?")
    canon_uri = urllib.parse.quote(urllib.parse.unquote(raw_path), safe="/-_.~")
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload_hash = hashlib.sha256(body).hexdigest()
    hdrs = {k.lower(): v.strip() for k, v in headers}
    hdrs.update(
        {"host": url.netloc, "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash}
    )
    signed = ";".join(sorted(hdrs))
    canon = "\n".join(
        [
            method,
            canon_uri,
            canonical_query(query),
            "".join(f"{k}:{hdrs[k]}\n" for k in sorted(hdrs)),
            signed,
            payload_hash,
        ]
    )
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canon.encode()).hexdigest()]
    )
    k = sign(("AWS4" + secret).encode(), day)
    for part in (region, "s3", "aws4_request"):
        k = sign(k, part)
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    hdrs["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=60)
    wire_path = canon_uri + ("?" + canonical_query(query) if query else "")
    conn.request(method, wire_path, body=body, headers=hdrs)
    resp = conn.getresponse()
    return resp.status, resp.getheaders(), resp.read()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("method")
    p.add_argument("path")
    p.add_argument("-H", dest="headers", action="append", default=[])
    p.add_argument("--data")
    p.add_argument("--data-str")
    p.add_argument("-o", dest="out")
    p.add_argument("-D", dest="dump")
    p.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"))
    a = p.parse_args()
    if not a.endpoint:
        sys.exit("s3req.py: set AWS_ENDPOINT_URL or pass --endpoint")
    body = b""
    if a.data is not None:
        with open(a.data, "rb") as f:
            body = f.read()
    elif a.data_str is not None:
        body = a.data_str.encode()
    headers = [h.split(":", 1) for h in a.headers]
    status, resp_headers, resp_body = request(a.method, a.path, headers, body, a.endpoint)
    if a.out:
        with open(a.out, "wb") as f:
            f.write(resp_body)
    if a.dump:
        with open(a.dump, "w") as f:
            f.writelines(f"{k.lower()}: {v}\n" for k, v in resp_headers)
    print(status)


if __name__ == "__main__":
    main()
