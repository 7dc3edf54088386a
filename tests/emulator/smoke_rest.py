#!/usr/bin/env python3
"""Smoke test of sfagent-emulator as a third-party client sees it.

A client written from Salesforce's REST API Developer Guide with the `requests` library
(what simple-salesforce is built on), sharing no code with sfagent: it starts the emulator
program on an ephemeral 127.0.0.1 port, logs in with the OAuth password flow and checks the
documented shapes of versions, rows, Collections, query paging, queryAll, getUpdated /
getDeleted, describe and errors (docs/salesforce.md). Usage: smoke_rest.py EMULATOR_BINARY.
Exit 0 when every check holds; otherwise the first failed check is printed and exit is 1.
"""
import datetime
import re
import subprocess
import sys

import requests

V = "/services/data/v62.0"
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0000$")
LIMIT_INFO = re.compile(r"^api-usage=\d+/\d+$")
LOCATOR_URL = re.compile(r"^/services/data/v62\.0/query/[0-9A-Za-z]{15,18}-\d+$")


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def id_suffix(id15):
    """The documented 3-character case-safe suffix of a 15-character Id."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    out = ""
    for chunk in range(3):
        bits = 0
        for j, ch in enumerate(id15[chunk * 5:chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << j
        out += alphabet[bits]
    return out


def is_error_list(resp, status, code):
    body = resp.json()
    return (resp.status_code == status and isinstance(body, list) and body
            and body[0].get("errorCode") == code and "message" in body[0])


def login(base):
    form = {"grant_type": "password", "client_id": "sfagent-test-client",
            "client_secret": "sfagent-test-secret", "username": "agent@example.com",
            "password": "password"}
    bad = requests.post(base + "/services/oauth2/token", data=dict(form, password="nope"))
    check(bad.status_code == 400 and bad.json().get("error") == "invalid_grant",
          "bad password: 400 invalid_grant")
    r = requests.post(base + "/services/oauth2/token", data=form)
    tok = r.json()
    check(r.status_code == 200 and tok.get("token_type") == "Bearer", "token response")
    check(isinstance(tok.get("issued_at"), str) and "expires_in" not in tok,
          "issued_at is a string, no expires_in")
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + tok["access_token"]
    return s, tok["instance_url"]


def rows_and_collections(s, inst):
    r = s.post(inst + V + "/sobjects/Case/", json={"Subject": "smoke"})
    body = r.json()
    check(r.status_code == 201 and body["success"] is True and body["errors"] == [],
          "create: 201 {id, success, errors}")
    cid = body["id"]
    check(len(cid) == 18 and cid[15:] == id_suffix(cid[:15]), "18-char Id, right suffix")
    r = s.get(inst + V + "/sobjects/Case/" + cid[:15])
    rec = r.json()
    check(r.status_code == 200 and rec["Id"] == cid, "GET by 15-char Id answers the 18")
    check(rec["attributes"] == {"type": "Case", "url": V + "/sobjects/Case/" + cid},
          "attributes {type, url}")
    for f in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
        check(STAMP.match(rec[f] or ""), f + " printed as Salesforce prints it")
    check(re.match(r"^\d{8}$", rec["CaseNumber"] or ""), "CaseNumber auto-number")
    check(LIMIT_INFO.match(r.headers.get("Sforce-Limit-Info", "")), "Sforce-Limit-Info")
    r = s.patch(inst + V + "/sobjects/Case/" + cid, json={"Subject": "edited"})
    check(r.status_code == 204 and r.content == b"", "PATCH: 204, no body")
    for n in range(3):
        recs = [{"attributes": {"type": "Case"}, "Subject": "bulk %d-%d" % (n, i)}
                for i in range(150)]
        r = s.post(inst + V + "/composite/sobjects", json={"allOrNone": False, "records": recs})
        check(r.status_code == 200 and all(x["success"] for x in r.json()),
              "Collections create: 200, one result per record")
    r = s.delete(inst + V + "/sobjects/Case/" + cid)
    check(r.status_code == 204, "DELETE: 204")
    r = s.get(inst + V + "/sobjects/Case/" + cid)
    check(is_error_list(r, 404, "ENTITY_IS_DELETED"), "GET deleted: 404 ENTITY_IS_DELETED")
    return cid


def paging(s, inst, deleted_id):
    hdr = {"Sforce-Query-Options": "batchSize=200"}
    r = s.get(inst + V + "/query/", params={"q": "SELECT Id, Subject FROM Case"}, headers=hdr)
    page = r.json()
    total, seen, pages = page["totalSize"], [], 0
    check(total == 450, "query: totalSize counts every row")
    while True:
        pages += 1
        seen += [x["Id"] for x in page["records"]]
        check(page["totalSize"] == total, "totalSize is the same on every page")
        if page["done"]:
            check("nextRecordsUrl" not in page, "last page: nextRecordsUrl absent")
            break
        check(LOCATOR_URL.match(page["nextRecordsUrl"]), "nextRecordsUrl form")
        page = s.get(inst + page["nextRecordsUrl"]).json()
    check(pages == 3 and len(set(seen)) == total, "pages of 200 cover every row once")
    q = {"q": "SELECT Id, IsDeleted FROM Case WHERE IsDeleted = true"}
    rows = s.get(inst + V + "/queryAll/", params=q).json()["records"]
    check([x["Id"] for x in rows] == [deleted_id], "queryAll sees the deleted row")
    check(s.get(inst + V + "/query/", params=q).json()["totalSize"] == 0,
          "query does not")


def replication(s, inst, deleted_id):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    window = {"start": (now - datetime.timedelta(hours=1)).isoformat(),
              "end": (now + datetime.timedelta(minutes=2)).isoformat()}
    up = s.get(inst + V + "/sobjects/Case/updated/", params=window)
    ids = up.json()["ids"] if up.status_code == 200 else None
    # Seconds are ignored and the window ends at the current minute at the latest, so rows
    # written in this minute come in the next call (from latestDateCovered).
    check(isinstance(ids, list) and len(ids) <= 450
          and all(len(i) == 18 and i.startswith("500") for i in ids), "getUpdated ids")
    check(STAMP.match(up.json()["latestDateCovered"]), "latestDateCovered")
    de = s.get(inst + V + "/sobjects/Case/deleted/", params=window).json()
    check(set(de) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"},
          "getDeleted keys")
    old = dict(window, start=(now - datetime.timedelta(days=31)).isoformat())
    r = s.get(inst + V + "/sobjects/Case/updated/", params=old)
    check(is_error_list(r, 400, "INVALID_REPLICATION_DATE"), "start 31 days back refused")
    check(deleted_id not in up.json()["ids"], "getUpdated lists no deleted row")


def errors_and_describe(s, inst):
    def query(q):
        return s.get(inst + V + "/query", params={"q": q})
    check(is_error_list(query("SELECT Foo FROM Case"), 400, "INVALID_FIELD"), "INVALID_FIELD")
    check(is_error_list(query("SELECT Id FROM Bogus"), 400, "INVALID_TYPE"), "INVALID_TYPE")
    check(is_error_list(query("SELEC Id FROM Case"), 400, "MALFORMED_QUERY"), "MALFORMED_QUERY")
    check(is_error_list(query("SELECT Id FROM Case WHERE CreatedDate > '2024-01-01'"), 400,
                        "INVALID_FIELD"), "quoted dateTime refused")
    check(is_error_list(s.get(inst + "/services/data/v99.0/limits"), 404, "NOT_FOUND"),
          "unknown version: 404 NOT_FOUND")
    d = s.get(inst + V + "/sobjects/Case/describe").json()
    fields = {f["name"]: f for f in d["fields"]}
    for key in ("name", "label", "type", "length", "updateable", "createable", "nillable",
                "picklistValues", "extraTypeInfo", "compoundFieldName"):
        check(all(key in f for f in d["fields"]), "describe field key " + key)
    check(fields["Status"]["type"] == "picklist" and fields["Status"]["picklistValues"],
          "Status picklist values")
    check(fields["Description"]["extraTypeInfo"] == "plaintextarea", "textarea extraTypeInfo")
    check(fields["CaseNumber"]["autoNumber"] and not fields["CaseNumber"]["createable"],
          "CaseNumber autoNumber, not createable")


def main():
    emu = subprocess.Popen([sys.argv[1], "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = emu.stdout.readline()
        base = line.strip().rsplit(" ", 1)[-1]
        check(base.startswith("http://127.0.0.1:"), "emulator prints its URL")
        versions = requests.get(base + "/services/data/").json()
        check(versions[-1]["version"] == "66.0" and versions[0]["url"] == "/services/data/v31.0",
              "GET /services/data/ lists versions, no auth")
        s, inst = login(base)
        deleted = rows_and_collections(s, inst)
        paging(s, inst, deleted)
        replication(s, inst, deleted)
        errors_and_describe(s, inst)
    except AssertionError as e:
        print("FAILED: %s" % e)
        return 1
    finally:
        emu.terminate()
        emu.wait(timeout=10)
    print("ok: the emulator answers a third-party REST client as documented")
    return 0


if __name__ == "__main__":
    sys.exit(main())
