#!/usr/bin/env python3
"""Search quality: a query set of known answers built from the demo catalog, asked of `/search`.

The catalog is `make run`'s (both datasets through `filmlog import-films`, then the seed) in a
database of its own, with twenty members whose display names are real people's names. The queries
are drawn (seeded) from the data, each with one right answer:

- exact titles, and titles with one typo (a letter dropped or two swapped), of films whose title
  no other film has;
- partial titles typed as you type (`mode=autocomplete`), a prefix no other title starts with;
- people's names as typed without their accents, and plain names in lower case;
- remakes told apart by year ("titanic 1953");
- films by one of their other titles (a title the other dataset gives them);
- members by username and by display name without accents.

The report is the share of queries whose answer is first, and in the top three, overall and by kind.
Run alone: `bench/search_quality.py --bin target/release/filmlog --server-url postgres://…`.
"""
import argparse, json, os, random, re, signal, subprocess, time, unicodedata
import urllib.parse, urllib.request

from run import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DB = "filmlog_search_quality"
TARGET_TOP3, TARGET_TOP1 = 0.95, 0.85


def psql(url, sql, strip=True):
    out = subprocess.run(["psql", url, "-qAtX", "-v", "ON_ERROR_STOP=1", "-F", "\t", "-c", sql],
                         check=True, text=True, capture_output=True).stdout
    return out.strip() if strip else out


def rows(url, sql):
    out = psql(url, sql, strip=False)
    return [line.split("\t") for line in out.splitlines() if line]


def fold(text):
    """As the API's search key: accents dropped, lower case, punctuation a space."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"['’`]", "", text)
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def unaccent(text):
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def typo(word, rnd):
    i = rnd.randrange(1, len(word) - 1)
    if rnd.random() < 0.5:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def get(port, path, token=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.loads(res.read().decode())


def post(port, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST", data=json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.loads(res.read().decode())


def prepare(binary, server_url):
    """The demo catalog in its own database (made once, kept while the migrations stay the same)."""
    url = f"{server_url}/{DB}"
    exists = psql(f"{server_url}/postgres", f"SELECT 1 FROM pg_database WHERE datname = '{DB}'") == "1"
    migrations = sorted(os.listdir(f"{ROOT}/migrations"))[-1]
    marker = exists and psql(url, "SELECT to_regclass('search_quality_marker') IS NOT NULL") == "t" and \
        psql(url, "SELECT version FROM search_quality_marker") == migrations
    if not marker:
        psql(f"{server_url}/postgres", f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        psql(f"{server_url}/postgres", f"CREATE DATABASE {DB}")
        env = dict(os.environ, DATABASE_URL=url)
        started = time.time()
        subprocess.run([binary, "migrate"], check=True, env=env, capture_output=True)
        subprocess.run([binary, "import-films", f"{ROOT}/data/demo/vega-movies.json",
                        f"{ROOT}/data/demo/wikipedia-movies.json.gz"], check=True, env=env, capture_output=True)
        subprocess.run([binary, "seed"], check=True, env=env, capture_output=True)
        print(f"search quality: demo catalog loaded in {time.time() - started:.0f}s", flush=True)
        psql(url, f"CREATE TABLE search_quality_marker (version text); INSERT INTO search_quality_marker VALUES ('{migrations}')")
    return url


def query_set(url, rnd):
    """(kind, query, mode, expected (type, id)) from the catalog's own data."""
    films = rows(url, "SELECT f.slug, f.title, f.year, coalesce(array_to_string(f.alternative_titles, '|'), '') "
                      "FROM films f WHERE f.verified ORDER BY f.id")
    by_key = {}
    for slug, title, year, _ in films:
        by_key.setdefault(fold(title), []).append((slug, year))
    unique = [(s, t, y, a) for s, t, y, a in films if len(by_key[fold(t)]) == 1 and len(fold(t)) >= 4]
    rnd.shuffle(unique)
    out = []
    for slug, title, _, _ in unique[:60]:
        out.append(("exact title", title, "full", ("film", slug)))
    typed = [u for u in unique[60:] if any(len(w) >= 6 for w in fold(u[1]).split())][:40]
    for slug, title, _, _ in typed:
        words = fold(title).split()
        i = max(range(len(words)), key=lambda j: len(words[j]))
        words[i] = typo(words[i], rnd)
        out.append(("misspelt title", " ".join(words), "full", ("film", slug)))
    person_keys = [fold(n) for (n,) in rows(url, "SELECT name FROM people")]
    keys = sorted(by_key)
    partial = []
    for slug, title, _, _ in unique[100:]:
        key = fold(title)
        if len(key) < 12:
            continue
        prefix = key[:max(6, int(len(key) * 0.6))].rstrip()
        starting = [k for k in keys if k.startswith(prefix) or f" {prefix}" in k]
        # The one title, and no person's name, starts so (a prefix that starts a name too has
        # two right answers).
        named = any(k.startswith(prefix) or f" {prefix}" in k for k in person_keys)
        if starting == [key] and not named:
            partial.append(("partial title", prefix, "autocomplete", ("film", slug)))
        if len(partial) == 30:
            break
    out += partial
    remakes = [(s, t, y) for s, t, y, _ in films
               if len(by_key[fold(t)]) >= 2 and len({yy for _, yy in by_key[fold(t)]}) == len(by_key[fold(t)]) and y]
    rnd.shuffle(remakes)
    for slug, title, year in remakes[:20]:
        out.append(("remake by year", f"{title} {year}", "full", ("film", slug)))
    alternative = [(s, a.split("|")[0]) for s, t, _, a in films
                   if a and fold(a.split("|")[0]) != fold(t) and len(by_key.get(fold(a.split("|")[0]), [])) == 0]
    rnd.shuffle(alternative)
    for slug, alt in alternative[:10]:
        out.append(("other title", alt, "full", ("film", slug)))
    people = rows(url, "SELECT p.slug, p.name, count(*) FROM people p JOIN film_credits c ON c.person_id = p.id "
                       "GROUP BY p.id HAVING count(*) >= 2 ORDER BY p.id")
    names = {}
    for slug, name, _ in people:
        names.setdefault(fold(name), []).append(slug)
    distinct = [(s, n) for s, n, _ in people if len(names[fold(n)]) == 1 and len(n.split()) >= 2]
    accented = [(s, n) for s, n in distinct if unaccent(n) != n]
    plain = [(s, n) for s, n in distinct if unaccent(n) == n]
    rnd.shuffle(accented)
    rnd.shuffle(plain)
    for slug, name in accented[:20]:
        out.append(("person without accents", unaccent(name), "full", ("person", slug)))
    for slug, name in plain[:20]:
        out.append(("person", name.lower(), "full", ("person", slug)))
    # Members' display names: a first name and another person's surname, a name no person has.
    pool = [n for _, n in accented[20:80]]
    taken = set(names)
    member_names = []
    for a, b in zip(pool, pool[1:]):
        name = f"{a.split()[0]} {b.split()[-1]}"
        if fold(name) not in taken:
            member_names.append(name)
    return out, member_names


def members(port, names):
    """Twenty members with display names with accents; queries by username or display name."""
    out = []
    for i, name in enumerate(names[:20]):
        username = re.sub(r"[^a-z0-9]", "", fold(name))[:12] + f"{i:02d}"
        try:
            post(port, "/api/v1/auth/register", {"username": username, "email": f"{username}@example.com",
                                                 "password": "search-quality-password", "display_name": name})
        except urllib.error.HTTPError as e:
            if e.code != 409:
                raise
        if i % 2:
            out.append(("member by display name", unaccent(name), "full", ("member", username)))
        else:
            out.append(("member by username", username, "full", ("member", username)))
    return out


def rank_of(results, expected):
    kind, ident = expected
    for i, r in enumerate(results):
        if r["type"] != kind:
            continue
        got = {"film": lambda: r["film"]["slug"], "person": lambda: r["person"]["slug"],
               "member": lambda: r["member"]["username"], "list": lambda: r["list"]["id"]}[kind]()
        if got == ident:
            return i + 1
    return None


def evaluate(binary, server_url, seed=29):
    url = prepare(binary, server_url)
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, PORT=str(port), RUST_LOG="warn",
               FILMLOG_JWT_SECRET=os.urandom(48).hex(),
               **{f"FILMLOG_RATE_{c}_PER_{s}": "1000000000/60" for c in ("READ", "SEARCH", "WRITE") for s in ("IP", "MEMBER")},
               FILMLOG_RATE_AUTH_PER_IP="1000000000/60", FILMLOG_RATE_REGISTER_PER_IP="1000000000/60")
    server = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                get(port, "/health/ready")
                break
            except Exception:
                time.sleep(0.1)
        rnd = random.Random(seed)
        queries, member_names = query_set(url, rnd)
        queries += members(port, member_names)
        by_kind, misses = {}, []
        for kind, q, mode, expected in queries:
            params = urllib.parse.urlencode({"q": q, "mode": mode, "limit": 10})
            found = rank_of(get(port, f"/api/v1/search?{params}")["results"], expected)
            k = by_kind.setdefault(kind, {"queries": 0, "top1": 0, "top3": 0})
            k["queries"] += 1
            k["top1"] += found == 1
            k["top3"] += found is not None and found <= 3
            if found != 1:
                misses.append({"kind": kind, "q": q, "mode": mode, "expected": list(expected), "rank": found})
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
    total = len(queries)
    top1 = sum(k["top1"] for k in by_kind.values()) / total
    top3 = sum(k["top3"] for k in by_kind.values()) / total
    return {"queries": total, "top1": top1, "top3": top3, "by_kind": by_kind, "misses": misses[:40],
            "targets": {"top1": TARGET_TOP1, "top3": TARGET_TOP3},
            "met": top1 >= TARGET_TOP1 and top3 >= TARGET_TOP3}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=f"{ROOT}/target/release/filmlog")
    parser.add_argument("--server-url", required=True)
    args = parser.parse_args()
    report = evaluate(args.bin, args.server_url)
    print(json.dumps(report, indent=1))
