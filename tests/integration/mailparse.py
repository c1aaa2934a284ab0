#!/usr/bin/python3
"""Parses one RFC 5322 message file with Python's email package (an
independent implementation) and prints what the identity tests check, as
JSON: decoded headers, the text and HTML parts, whether every line ends in
CRLF, and whether the required headers are present.

Usage: mailparse.py FILE [DIR]
With DIR, each attachment is also written there under its filename;
"attachments" lists them: filename, content_type and size in bytes.
"""
import email
import email.policy
import email.utils
import json
import sys

raw = open(sys.argv[1], "rb").read()
msg = email.message_from_bytes(raw, policy=email.policy.default)
out = {
    "subject": str(msg["subject"] or ""),
    "from": str(msg["from"] or ""),
    "to": str(msg["to"] or ""),
    "reply_to": str(msg["reply-to"] or ""),
    "message_id": str(msg["message-id"] or ""),
    "mime_version": str(msg["mime-version"] or ""),
    "content_type": msg.get_content_type(),
    "date_ok": msg["date"] is not None and email.utils.parsedate_to_datetime(str(msg["date"])) is not None,
    "raw_subject_ascii": all(b < 128 for b in raw.split(b"\r\n\r\n", 1)[0]),
    "crlf": b"\n" not in raw.replace(b"\r\n", b""),
    "defects": len(msg.defects),
}
text = msg.get_body(preferencelist=("plain",))
html = msg.get_body(preferencelist=("html",))
out["text"] = text.get_content() if text is not None else None
out["html"] = html.get_content() if html is not None else None
out["attachments"] = []
for part in msg.iter_attachments():
    data = part.get_content()
    if isinstance(data, str):
        data = data.encode("utf-8")
    name = part.get_filename() or ""
    out["attachments"].append({"filename": name, "content_type": part.get_content_type(),
                               "size": len(data)})
    if len(sys.argv) > 2 and name and "/" not in name:
        with open(sys.argv[2] + "/" + name, "wb") as f:
            f.write(data)
print(json.dumps(out))
