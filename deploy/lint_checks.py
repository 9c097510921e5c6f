"""Contract checks for igauth's deploy artefacts, run by deploy/lint.sh.

Docker and Kubernetes cannot run on the project's machines, so beyond the generic linters
(hadolint, kubernetes-validate) this reads the files and checks that they agree with each other
and with the service: the Dockerfile copies every workspace member and every file the crate
compiles in, the build context keeps them, the Kubernetes objects select the same pods and
harden them, the compose file wires Parse's oauth2 adapter to igauth with real Parse option
names.

    python lint_checks.py dockerfile REPO_ROOT
    python lint_checks.py k8s K8S_DIR [RENDERED_YAML]
    python lint_checks.py compose COMPOSE_FILE ENV_EXAMPLE [PARSE_DEFINITIONS_JS]

Prints one line per check and exits 1 if any failed. Needs PyYAML (a kubernetes-validate
dependency) and Python >= 3.11 (tomllib).
"""

import ipaddress
import json
import os
import re
import sys
import tomllib
from pathlib import Path

import yaml

failures = 0


def check(ok, what, detail=""):
    global failures
    if ok:
        print(f"  ok    {what}")
    else:
        failures += 1
        print(f"  FAIL  {what}" + (f": {detail}" if detail else ""))
    return ok


def finish():
    sys.exit(1 if failures else 0)


# A setting that holds a secret, by name: IGAUTH_SERVER__API_KEY, ..._CLIENT_SECRET,
# POSTGRES_PASSWORD. Anchored at the end, so PARSE_SERVER_MASTER_KEY_IPS is not one.
SECRET_NAME = re.compile(r"(KEY|SECRET|PASSWORD|TOKEN)$")
# The placeholder words igauth refuses at startup (any case), and their spelling variants.
PLACEHOLDER = re.compile(r"replace[-_ ]?me|change[-_ ]?me", re.IGNORECASE)


def placeholder_lines(path):
    """'file:line' for every line of an example file that carries a placeholder word."""
    path = Path(path)
    return [f"{path.name}:{n}" for n, line in enumerate(path.read_text().splitlines(), 1)
            if PLACEHOLDER.search(line)]


# --------------------------------------------------------------------------------------------
# Dockerfile and its build context
# --------------------------------------------------------------------------------------------


def dockerfile_instructions(text):
    """(instruction, arguments) pairs, with continuation lines joined and comments dropped."""
    out, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        word, _, rest = current.partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    return out


def dockerignore_matcher(patterns):
    """Docker's rules: the last matching pattern wins, '!' re-includes, a match on a parent
    directory excludes everything under it, '**' spans directories."""
    compiled = []
    for raw in patterns:
        raw = raw.strip()
        if not raw or raw.startswith("#"):
            continue
        negate = raw.startswith("!")
        pat = raw[1:] if negate else raw
        pat = os.path.normpath(pat.lstrip("/"))
        rx, i = "", 0
        while i < len(pat):
            if pat.startswith("**/", i):
                rx += "(?:.*/)?"
                i += 3
            elif pat.startswith("**", i):
                rx += ".*"
                i += 2
            elif pat[i] == "*":
                rx += "[^/]*"
                i += 1
            elif pat[i] == "?":
                rx += "[^/]"
                i += 1
            else:
                rx += re.escape(pat[i])
                i += 1
        compiled.append((re.compile(rx + r"\Z"), negate))

    def excluded(path):
        parts = Path(path).parts
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        result = False
        for rx, negate in compiled:
            if any(rx.match(c) for c in candidates):
                result = not negate
        return result

    return excluded


def check_dockerfile(root):
    root = Path(root)
    dockerfile = root / "deploy" / "Dockerfile"
    ignore_file = root / "deploy" / "Dockerfile.dockerignore"
    print(f"{dockerfile.relative_to(root)} against the workspace and {ignore_file.name}")
    instructions = dockerfile_instructions(dockerfile.read_text())
    check(ignore_file.exists(), "deploy/Dockerfile.dockerignore exists (BuildKit reads it)")
    excluded = dockerignore_matcher(ignore_file.read_text().splitlines()) if ignore_file.exists() else (lambda p: False)

    cargo = tomllib.loads((root / "Cargo.toml").read_text())
    froms = [i for i, (word, _) in enumerate(instructions) if word == "FROM"]
    check(len(froms) >= 2, "multi-stage build", f"{len(froms)} FROM")
    final = instructions[froms[-1]:]

    # Sources copied from the build context (not --from=<stage>).
    copied = []
    for word, args in instructions:
        if word not in ("COPY", "ADD"):
            continue
        parts = [p for p in args.split() if not p.startswith("--")]
        if any(p.startswith("--from") for p in args.split()):
            continue
        copied.extend(os.path.normpath(p) for p in parts[:-1])
    for src in copied:
        exists = (root / src).exists()
        check(exists, f"COPY source {src} exists in the repository")
        if exists:
            check(not excluded(src), f"COPY source {src} is in the build context")
            if (root / src).is_dir():
                dropped = [str(f.relative_to(root)) for f in (root / src).rglob("*")
                           if f.is_file() and excluded(str(f.relative_to(root)))]
                check(not dropped, f"no file under {src}/ is dropped by the dockerignore", ", ".join(dropped[:5]))

    # Every workspace member's manifest (cargo loads the whole workspace even for -p igauth),
    # with a dummy target file created for the dependency layer.
    run_text = " ".join(args for word, args in instructions if word == "RUN")
    for member in cargo.get("workspace", {}).get("members", []):
        if member == ".":
            continue
        manifest = os.path.normpath(f"{member}/Cargo.toml")
        check(manifest in copied, f"workspace member {member}: its Cargo.toml is copied")
        check(f"{member}/src" in run_text, f"workspace member {member}: the dependency layer gives it a dummy source")
    check("Cargo.lock" in copied, "Cargo.lock is copied")
    check("--locked" in run_text and "-p igauth" in run_text, "cargo build --release --locked -p igauth")

    # Files the crate compiles in (include_str!/include_bytes!) must be copied too.
    for rs in sorted((root / "src").rglob("*.rs")):
        for m in re.finditer(r'include_(?:str|bytes)!\(\s*"([^"]+)"\s*\)', rs.read_text()):
            target = os.path.normpath(os.path.relpath((rs.parent / m.group(1)).resolve(), root.resolve()))
            covered = any(target == c or target.startswith(c + "/") for c in copied)
            check(covered, f"{rs.relative_to(root)} compiles in {target}: the Dockerfile copies it")

    # Build toolchain new enough for the crate's rust-version.
    build_from = instructions[froms[0]][1]
    m = re.search(r"rust:(\d+)\.(\d+)", build_from)
    want = cargo.get("package", {}).get("rust-version", "0.0")
    want_t = tuple(int(x) for x in want.split(".")[:2])
    check(bool(m) and (int(m.group(1)), int(m.group(2))) >= want_t,
          f"build image {build_from.split()[0]} >= rust-version {want}")

    final_words = {word: args for word, args in final}
    user = final_words.get("USER", "")
    check(bool(re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", user)), f"final stage runs as a numeric non-root USER ({user})")
    check("8080" in final_words.get("EXPOSE", ""), "EXPOSE 8080")
    hc = final_words.get("HEALTHCHECK", "")
    check('"healthcheck"' in hc and "CMD [" in hc, "exec-form HEALTHCHECK runs `igauth healthcheck`")
    check(final_words.get("ENTRYPOINT", "").startswith("["), "exec-form ENTRYPOINT")
    env = " ".join(args for word, args in final if word == "ENV")
    check("IGAUTH_SERVER__BIND=0.0.0.0:8080" in env, "ENV IGAUTH_SERVER__BIND=0.0.0.0:8080")
    labels = " ".join(args for word, args in final if word == "LABEL")
    for key in ("title", "description", "source", "licenses"):
        check(f"org.opencontainers.image.{key}=" in labels, f"OCI label org.opencontainers.image.{key}")
    lic = cargo.get("package", {}).get("license", "")
    check(f'org.opencontainers.image.licenses="{lic}"' in labels, f"licenses label matches Cargo.toml ({lic})")
    check(excluded("target/release/igauth") and excluded(".git/HEAD") and excluded("tests/e2e/node_modules/x"),
          "dockerignore drops target/, .git and node_modules")
    check(excluded("deploy/.env") and excluded(".env"), "dockerignore drops local .env files")


# --------------------------------------------------------------------------------------------
# Kubernetes
# --------------------------------------------------------------------------------------------


def load_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_k8s(k8s_dir, rendered=None):
    k8s_dir = Path(k8s_dir)
    print(f"{k8s_dir} (kustomize base)")
    kustomization = yaml.safe_load((k8s_dir / "kustomization.yaml").read_text())
    resources = kustomization.get("resources", [])
    for r in resources:
        check((k8s_dir / r).exists(), f"kustomization resource {r} exists")
    for f in sorted(k8s_dir.glob("*.yaml")):
        if f.name in ("kustomization.yaml", "secret.example.yaml"):
            continue
        check(f.name in resources, f"{f.name} is listed in kustomization.yaml")
    check("secret.example.yaml" not in resources, "the Secret template is not applied by kustomize")

    objs = {}
    for r in resources:
        if (k8s_dir / r).exists():
            for d in load_docs(k8s_dir / r):
                objs.setdefault(d["kind"], []).append(d)
    secret_tpl = load_docs(k8s_dir / "secret.example.yaml")
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap", "NetworkPolicy"):
        check(len(objs.get(kind, [])) == 1, f"one {kind}")
    if failures:
        return

    dep = objs["Deployment"][0]
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    pod_labels = spec["template"]["metadata"]["labels"]
    c = pod["containers"][0]
    check(spec.get("replicas") == 2, "Deployment: 2 replicas")
    check(selects(spec["selector"]["matchLabels"], pod_labels), "Deployment: selector matches its pod labels")
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    check(8080 in ports.values(), "container port 8080")

    def probe(name, path):
        p = c.get(name, {}).get("httpGet", {})
        port = p.get("port")
        port = ports.get(port, port)
        check(p.get("path") == path and port == 8080, f"{name} GET {path} on 8080", str(p))

    probe("livenessProbe", "/healthz")
    probe("readinessProbe", "/readyz")
    sp = c.get("startupProbe")
    if sp:
        check(sp.get("periodSeconds", 10) * sp.get("failureThreshold", 3) >= 30, "startupProbe allows >= 30 s to start")
    res = c.get("resources", {})
    for kind in ("requests", "limits"):
        check({"cpu", "memory"} <= set(res.get(kind, {})), f"resources.{kind} cpu and memory")
    psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True or csc.get("runAsNonRoot") is True, "runAsNonRoot")
    check(csc.get("runAsUser", psc.get("runAsUser")) == 65532, "runAsUser 65532 (distroless nonroot)")
    check(csc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
    check(csc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation: false")
    check("ALL" in csc.get("capabilities", {}).get("drop", []), "capabilities drop ALL")
    seccomp = csc.get("seccompProfile", psc.get("seccompProfile", {}))
    check(seccomp.get("type") == "RuntimeDefault", "seccomp RuntimeDefault")
    ann = spec["template"]["metadata"].get("annotations", {})
    check(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/path") == "/metrics"
          and ann.get("prometheus.io/port") == "9090", "Prometheus scrape annotations for /metrics on 9090")
    container_ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
    check(container_ports == {"http": 8080, "metrics": 9090}, "container ports http 8080 and metrics 9090",
          str(container_ports))

    cm = objs["ConfigMap"][0]
    cm_data = cm.get("data", {})
    check(cm_data.get("IGAUTH_SERVER__METRICS_BIND", "").endswith(":9090"),
          "/metrics has its own listener on 9090 (IGAUTH_SERVER__METRICS_BIND), not the public port")
    grace = int(cm_data.get("IGAUTH_SERVER__SHUTDOWN_GRACE_SECS", "10"))
    pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    tgp = pod.get("terminationGracePeriodSeconds", 30)
    check(tgp > grace + pre_stop, f"terminationGracePeriodSeconds {tgp} > preStop {pre_stop} + igauth grace {grace}")
    env_from = c.get("envFrom", [])
    cm_refs = [e["configMapRef"]["name"] for e in env_from if "configMapRef" in e]
    secret_refs = [e["secretRef"]["name"] for e in env_from if "secretRef" in e]
    check(cm_refs == [cm["metadata"]["name"]], "envFrom the ConfigMap", str(cm_refs))
    check(len(secret_tpl) == 1 and secret_refs == [secret_tpl[0]["metadata"]["name"]],
          "envFrom the Secret the template describes", str(secret_refs))
    check(all(k.startswith("IGAUTH_") or k == "RUST_LOG" for k in cm_data), "ConfigMap holds only igauth settings")
    secretish = [k for k in cm_data if re.search(r"API_KEY|SECRET|WEBHOOK_KEY|PASSWORD", k)]
    check(not secretish, "no secret in the ConfigMap", ", ".join(secretish))
    check("IGAUTH_CACHE__REDIS_URL" not in cm_data,
          "IGAUTH_CACHE__REDIS_URL is not in the ConfigMap (it carries the Redis password: Secret only)")
    check(cm_data.get("IGAUTH_SERVER__BIND", "0.0.0.0:8080").endswith(":8080"), "ConfigMap binds port 8080")
    # Behind an ingress every request comes from an ingress pod: without trusted proxies all
    # clients share one per-IP budget. Same list rules as igauth (comma-separated, blanks dropped).
    proxies = [p.strip() for p in str(cm_data.get("IGAUTH_LIMITS__TRUSTED_PROXIES", "")).split(",") if p.strip()]
    nets, bad = [], []
    for p in proxies:
        try:
            nets.append(ipaddress.ip_network(p, strict=True))
        except ValueError as e:
            bad.append(f"{p!r} ({e})")
    check(bool(proxies) and not bad, "ConfigMap IGAUTH_LIMITS__TRUSTED_PROXIES is a non-empty list of"
          " addresses/CIDRs (the ingress's pod range)", "; ".join(bad) or "empty")
    public = [str(n) for n in nets if n.is_global or n.prefixlen == 0]
    check(not public, "trusted proxies are private ranges (trusting a public one lets any client pick"
          " its own rate-limit bucket)", ", ".join(public))
    if secret_tpl:
        values = {**secret_tpl[0].get("stringData", {}), **secret_tpl[0].get("data", {})}
        filled = [k for k, v in values.items() if v not in ("", None)]
        check(values and not filled, "Secret template leaves every value empty", ", ".join(filled))
        want_keys = {"IGAUTH_SERVER__API_KEY", "IGAUTH_INSTAGRAM__CLIENT_SECRET", "IGAUTH_SERVER__STATE_SECRET",
                     "IGAUTH_PARSE__WEBHOOK_KEY", "IGAUTH_CACHE__REDIS_URL", "IGAUTH_CACHE__REDIS_SECRET",
                     "IGAUTH_PARSE__MASTER_KEY"}
        check(want_keys <= set(values), "Secret template names every secret, the Redis URL and"
              " IGAUTH_CACHE__REDIS_SECRET included", ", ".join(sorted(want_keys - set(values))))
        # The pods get the Redis settings from that Secret: through envFrom, or an env entry with
        # a secretKeyRef to it; never a literal value or a ConfigMap key.
        secret_name = secret_tpl[0]["metadata"]["name"]
        for name in ("IGAUTH_CACHE__REDIS_URL", "IGAUTH_CACHE__REDIS_SECRET"):
            explicit = [e for e in c.get("env", []) if e.get("name") == name]
            from_secret = all(e.get("valueFrom", {}).get("secretKeyRef", {}).get("name") == secret_name
                              for e in explicit)
            check(from_secret and (explicit or (secret_name in secret_refs and name in values)),
                  f"Deployment gets {name} from the Secret {secret_name}",
                  str(explicit) if explicit else "no env entry, and not a key of the Secret template")
    marked = [hit for f in sorted(k8s_dir.glob("*.yaml")) for hit in placeholder_lines(f)]
    check(not marked, "no placeholder value (REPLACE_ME, change-me) in the manifests", ", ".join(marked))

    svc = objs["Service"][0]["spec"]
    check(svc.get("type", "ClusterIP") == "ClusterIP", "Service is ClusterIP")
    check(selects(svc.get("selector"), pod_labels), "Service selects the igauth pods")
    sp_ = svc["ports"][0]
    target = ports.get(sp_.get("targetPort"), sp_.get("targetPort"))
    check(sp_.get("port") == 8080 and target == 8080, "Service 8080 -> container 8080")
    exposed = {ports.get(p.get("targetPort"), p.get("targetPort")) for p in svc["ports"]} | {p.get("port") for p in svc["ports"]}
    check(9090 not in exposed and "metrics" not in exposed, "the Service does not expose the metrics port", str(exposed))

    hpa = objs["HorizontalPodAutoscaler"][0]
    check(hpa["apiVersion"] == "autoscaling/v2", "HPA autoscaling/v2")
    ref = hpa["spec"]["scaleTargetRef"]
    check(ref["kind"] == "Deployment" and ref["name"] == dep["metadata"]["name"], "HPA scales the Deployment")
    check(hpa["spec"].get("minReplicas", 1) >= 2, "HPA keeps at least 2 replicas")
    check(any(m.get("resource", {}).get("name") == "cpu" for m in hpa["spec"].get("metrics", [])), "HPA on CPU")

    pdb = objs["PodDisruptionBudget"][0]
    check(pdb["apiVersion"] == "policy/v1" and pdb["spec"].get("minAvailable") == 1, "PDB policy/v1 minAvailable 1")
    check(selects(pdb["spec"]["selector"]["matchLabels"], pod_labels), "PDB selects the igauth pods")

    np_ = objs["NetworkPolicy"][0]["spec"]
    check(selects(np_["podSelector"].get("matchLabels"), pod_labels), "NetworkPolicy selects the igauth pods")
    check(set(np_.get("policyTypes", [])) == {"Ingress", "Egress"}, "NetworkPolicy restricts ingress and egress")
    ingress_ports = {(p.get("protocol", "TCP"), p["port"]) for r in np_.get("ingress", []) for p in r.get("ports", [])}
    check(ingress_ports == {("TCP", 8080), ("TCP", 9090)} and all(r.get("ports") for r in np_.get("ingress", [])),
          "ingress only to TCP 8080 and the metrics port 9090", str(ingress_ports))
    egress = np_.get("egress", [])
    check(all(r.get("ports") for r in egress), "every egress rule is limited to ports")
    egress_ports = {(p.get("protocol", "TCP"), p["port"]) for r in egress for p in r.get("ports", [])}
    want = {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 6379), ("TCP", 1337)}
    check(egress_ports == want, "egress only DNS 53 UDP/TCP, TCP 443, Redis 6379, Parse 1337",
          str(sorted(egress_ports)))

    # Every egress rule names its destinations with selectors, except HTTPS to Instagram: a
    # NetworkPolicy cannot name hosts, so that one stays open to public addresses.
    def rule_ports(r):
        return {(p.get("protocol", "TCP"), p.get("port")) for p in r.get("ports", [])}

    def selector_set(sel):
        return isinstance(sel, dict) and bool(sel.get("matchLabels") or sel.get("matchExpressions"))

    def selector_peer(peer):
        kinds = [k for k in ("podSelector", "namespaceSelector") if k in peer]
        return bool(kinds) and "ipBlock" not in peer and all(selector_set(peer[k]) for k in kinds)

    https = [r for r in egress if rule_ports(r) == {("TCP", 443)}]
    check(len(https) == 1, "one egress rule for HTTPS (TCP 443 only)", str(len(https)))
    for r in https:
        blocks = [peer.get("ipBlock", {}) for peer in r.get("to", [])]
        excepted = {x for b in blocks for x in b.get("except", [])}
        private = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"}
        check(bool(blocks) and all(blocks) and private <= excepted,
              "the open HTTPS rule is ipBlocks that exclude the private ranges", ", ".join(sorted(private - excepted)))
    for r in egress:
        if r in https:
            continue
        ports = ", ".join(f"{proto} {port}" for proto, port in sorted(rule_ports(r), key=str))
        peers = r.get("to") or []
        check(bool(peers) and all(selector_peer(peer) for peer in peers),
              f"egress rule for {ports} names its destinations (`to:` with pod/namespace selectors)",
              str(peers) if peers else "no `to:`: any address")
        if {("UDP", 53), ("TCP", 53)} & rule_ports(r):
            check(rule_ports(r) <= {("UDP", 53), ("TCP", 53)} and all(
                peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name") == "kube-system"
                and peer.get("podSelector", {}).get("matchLabels", {}).get("k8s-app") == "kube-dns" for peer in peers),
                "DNS egress goes only to kube-dns in kube-system", str(peers))
        if ("TCP", 6379) in rule_ports(r):
            check(rule_ports(r) == {("TCP", 6379)} and all(
                peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") == "redis"
                for peer in peers), "Redis egress goes only to the Redis pods", str(peers))

    if rendered:
        docs = load_docs(rendered)
        kinds = sorted(d["kind"] for d in docs)
        check(kinds == sorted(["ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler",
                               "PodDisruptionBudget", "NetworkPolicy"]), "kustomize renders the six objects", str(kinds))
        images = [c["image"] for d in docs if d["kind"] == "Deployment" for c in d["spec"]["template"]["spec"]["containers"]]
        check(all(":" in i for i in images), "kustomize sets a tagged image", str(images))


# --------------------------------------------------------------------------------------------
# docker compose
# --------------------------------------------------------------------------------------------

VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def read_env_file(path):
    env = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, _, v = line.partition("=")
            env[k.strip()] = v.strip()
    return env


def env_file_assignments(path):
    """(name, value) of every assignment, the commented-out ones (`# NAME=value`) included:
    an example line a user uncomments must not bring a known secret with it either."""
    out = []
    for line in Path(path).read_text().splitlines():
        m = re.fullmatch(r"\s*#?\s*([A-Z][A-Z0-9_]*)=(.*)", line)
        if m:
            out.append((m.group(1), m.group(2).strip()))
    return out


def interpolate(value, env, problems):
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, $$."""
    def sub(m):
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        op, arg = m.group(2), m.group(3)
        have = name in env
        val = env.get(name, "")
        if op in (":-", "-"):
            if (op == ":-" and not val) or not have:
                return interpolate(arg or "", env, problems)
            return val
        if op in (":?", "?"):
            if not have:
                problems.append(f"{name} is required ({arg}) and not listed in .env.example")
            elif op == ":?" and not val:
                if SECRET_NAME.search(name):
                    # The example leaves secrets empty on purpose (compose then refuses to start
                    # until they are filled in); check the wiring with a stand-in value.
                    return f"<{name}>"
                problems.append(f"{name} is required ({arg}) and empty in .env.example")
            return val
        if not have:
            problems.append(f"{name} has no default and is not in .env.example")
        return val
    return VAR.sub(sub, value)


def walk_strings(node, fn):
    if isinstance(node, dict):
        return {k: walk_strings(v, fn) for k, v in node.items()}
    if isinstance(node, list):
        return [walk_strings(v, fn) for v in node]
    if isinstance(node, str):
        return fn(node)
    return node


def env_map(service):
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


# Secrets the compose file passes without a :? guard, and why: empty is a working setup and there
# is nothing to generate.
OPTIONAL_SECRETS = {
    "IGAUTH_INSTAGRAM__CLIENT_SECRET": "issued by Meta with the Instagram app; empty keeps /v1/exchange"
                                       " and the login flow off while validation works",
}


def check_compose(compose_file, env_example, definitions=None):
    compose_file = Path(compose_file)
    print(f"{compose_file.name} with {Path(env_example).name}")
    raw = yaml.safe_load(compose_file.read_text())
    env = read_env_file(env_example)
    problems = []
    doc = walk_strings(raw, lambda s: interpolate(s, env, problems))
    check(not problems, "every ${VAR} resolves from .env.example or a default", "; ".join(problems))

    filled = [k for k, v in env_file_assignments(env_example) if SECRET_NAME.search(k) and v]
    check(not filled, ".env.example leaves every secret empty (compose's :? guards then stop a start"
          " that skipped one)", ", ".join(filled))
    marked = placeholder_lines(env_example) + placeholder_lines(compose_file)
    check(not marked, "no placeholder value (REPLACE_ME, change-me) in .env.example or the compose file",
          ", ".join(marked))

    # Every secret the compose file passes is required with a message saying how to generate it,
    # except the few that are optional and not generated (OPTIONAL_SECRETS): those default to empty.
    refs = []
    walk_strings(raw, lambda s: refs.extend(VAR.finditer(s)) or s)
    unguarded = []
    for m in refs:
        name, op, arg = m.group(1) or m.group(4), m.group(2), m.group(3) or ""
        if not name or not SECRET_NAME.search(name):
            continue
        if name in OPTIONAL_SECRETS:
            if not (op in (":-", "-") and arg == ""):
                unguarded.append(f"{m.group(0)} (optional: must default to empty)")
        elif op != ":?" or "openssl rand" not in arg:
            unguarded.append(m.group(0))
    check(not unguarded, "every secret in the compose file has a ${VAR:?...} guard whose message says"
          " how to generate it (openssl rand ...)", "; ".join(sorted(set(unguarded))))
    literal = [f"{svc}.{k}" for svc, s in (raw.get("services") or {}).items()
               for k, v in env_map(s).items() if SECRET_NAME.search(k) and "${" not in v]
    check(not literal, "no secret written into the compose file (each comes from .env)", ", ".join(literal))

    services = doc.get("services", {})
    for name in ("igauth", "parse", "db"):
        check(name in services, f"service {name}")
    if failures:
        return
    for name, svc in services.items():
        deps = svc.get("depends_on", {})
        for dep in deps if isinstance(deps, (list, dict)) else []:
            check(dep in services, f"{name} depends_on {dep} which exists")

    ig = services["igauth"]
    build = ig.get("build", {})
    context = (compose_file.parent / build.get("context", ".")).resolve()
    dockerfile = context / build.get("dockerfile", "Dockerfile")
    check(dockerfile.exists(), f"igauth builds from {os.path.relpath(dockerfile, context)} in {os.path.relpath(context, compose_file.parent)}")
    check((context / "Cargo.toml").exists(), "igauth's build context is the workspace root")
    ig_env = env_map(ig)
    check(all(k.startswith("IGAUTH_") or k == "RUST_LOG" for k in ig_env), "igauth gets only igauth settings")
    bind = ig_env.get("IGAUTH_SERVER__BIND", "0.0.0.0:8080")
    ig_port = bind.rsplit(":", 1)[-1]
    check(bool(ig_env.get("IGAUTH_SERVER__API_KEY")), "igauth has an API key")

    parse = services["parse"]
    image = parse.get("image", "")
    check(bool(re.fullmatch(r"parseplatform/parse-server:9\.\d+\.\d+", image)), f"official Parse image pinned to 9.x ({image})")
    p_env = env_map(parse)
    for key in ("PARSE_SERVER_APPLICATION_ID", "PARSE_SERVER_MASTER_KEY", "PARSE_SERVER_DATABASE_URI",
                "PARSE_SERVER_URL", "PARSE_SERVER_AUTH_PROVIDERS"):
        check(bool(p_env.get(key)), f"parse sets {key}")
    db_uri = p_env.get("PARSE_SERVER_DATABASE_URI", "")
    check("@db:" in db_uri or "//db:" in db_uri, "Parse's database URI points at the db service")
    try:
        auth = json.loads(p_env.get("PARSE_SERVER_AUTH_PROVIDERS", ""))
    except ValueError as e:
        auth = {}
        check(False, "PARSE_SERVER_AUTH_PROVIDERS is JSON", str(e))
    ig_auth = auth.get("instagram", {})
    check(ig_auth.get("oauth2") is True, "auth.instagram.oauth2 is true (Parse's RFC 7662 adapter)")
    check(ig_auth.get("tokenIntrospectionEndpointUrl") == f"http://igauth:{ig_port}/v1/introspect",
          "auth.instagram.tokenIntrospectionEndpointUrl is igauth's /v1/introspect",
          str(ig_auth.get("tokenIntrospectionEndpointUrl")))
    check(ig_auth.get("useridField") == "sub", "auth.instagram.useridField is sub")
    check(ig_auth.get("authorizationHeader") == f"Bearer {ig_env.get('IGAUTH_SERVER__API_KEY')}",
          "auth.instagram.authorizationHeader is Bearer <igauth's API key>")
    if p_env.get("PARSE_SERVER_WEBHOOK_KEY"):
        check(p_env["PARSE_SERVER_WEBHOOK_KEY"] == ig_env.get("IGAUTH_PARSE__WEBHOOK_KEY"),
              "Parse's webhookKey equals IGAUTH_PARSE__WEBHOOK_KEY")

    if definitions and Path(definitions).exists():
        known = set(re.findall(r"env: '([A-Z0-9_]+)'", Path(definitions).read_text()))
        pkg = Path(definitions).parents[2] / "package.json"
        version = json.loads(pkg.read_text()).get("version", "?") if pkg.exists() else "?"
        names = [k for k in p_env if k.startswith("PARSE_") or k == "PORT"]
        unknown = [k for k in names if k not in known]
        check(not unknown, f"Parse env names are real options of parse-server {version}"
              f" ({len(names)} checked)", ", ".join(unknown))
        check(version.split(".")[0] == image.rsplit(":", 1)[-1].split(".")[0],
              f"the checked parse-server ({version}) has the image's major version")
    else:
        print("  skip  Parse env names (parse-server not installed; run scripts/setup.sh)")

    db = services["db"]
    check(bool(db.get("healthcheck")), "db has a healthcheck (Parse waits for it)")
    if db_uri.startswith("postgres://"):
        uri_password = db_uri.split("@", 1)[0].rsplit(":", 1)[-1]
        check(env_map(db).get("POSTGRES_PASSWORD") == uri_password, "Parse's database password is the db's")
    published = [p for s in services.values() for p in s.get("ports", [])]
    check(all(str(p).startswith("127.0.0.1:") for p in published), "ports are published on 127.0.0.1 only")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"dockerfile": check_dockerfile, "k8s": check_k8s, "compose": check_compose}[cmd](*args)
    finish()
