"""The ways streamkpi is installed: `make install`, the Debian package, the
container image file and the Helm chart.

The Debian package is built with dpkg-buildpackage, installed on this machine
with `dpkg -i`, run as its user the way its systemd unit runs it, and purged;
the file lists of /etc, /usr and /var/lib before and after must match.  The
chart is rendered by helm and validated by kubeconform against schemas made
from Kubernetes' OpenAPI document and the Prometheus Operator's CRDs.
"""

import fcntl
import glob
import grp
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import urllib.request

import pytest
import yaml

from conftest import ROOT, free_port, poll, require

RELEASE = os.path.join(ROOT, "build", "streamkpi_exporter")
DEB_BUILD = os.path.join(ROOT, "scripts", "build-deb.sh")
CHART_BUILD = os.path.join(ROOT, "scripts", "build-chart.sh")
MAN = os.path.join(ROOT, "packaging", "streamkpi_exporter.1")
CONTAINERFILE = os.path.join(ROOT, "packaging", "Containerfile")
PKG = "streamkpi"
USER = "streamkpi"


def run(cmd, **kw):
    """Runs cmd; fails the test with its output when it exits non-zero."""
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}", pytrace=False)
    return p


def pkg_tools():
    """The tool and schema paths scripts/pkg-tools.sh names."""
    out = run(["bash", "-c", ". scripts/pkg-tools.sh && echo $HELM && echo $KUBECONFORM && "
               "echo $K8S_SWAGGER && echo $PROM_OPERATOR_CRDS && echo $K8S_VERSION"], cwd=ROOT).stdout
    helm, kubeconform, swagger, crds, k8s = out.split("\n")[:5]
    return helm, kubeconform, swagger, crds, k8s


def help_flags():
    require(RELEASE, "make build/streamkpi_exporter")
    text = run([RELEASE, "--help"]).stdout + run([RELEASE, "assess", "--help"]).stdout
    return sorted(set(re.findall(r"--[a-z][a-z.-]+", text)))


# ---------------------------------------------------------------- man page


def test_man_page_renders_without_warnings_and_documents_every_flag():
    p = subprocess.run(["groff", "-ww", "-man", "-Tutf8", "-z", MAN], capture_output=True, text=True)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    p = subprocess.run(["man", "--warnings", "-l", MAN], capture_output=True, text=True,
                       env={**os.environ, "MANPAGER": "cat", "MANWIDTH": "100"})
    assert p.returncode == 0 and p.stderr == "", p.stderr
    page = p.stdout.replace("\u2010", "-").replace("\u2212", "-")
    flags = help_flags()
    assert len(flags) >= 10, flags
    missing = [f for f in flags if f not in page]
    assert not missing, f"flags of --help absent from the man page: {missing}"


# ---------------------------------------------------------------- make install


def test_make_install_honours_prefix_and_destdir_and_keeps_a_changed_config():
    with tempfile.TemporaryDirectory(prefix="skpi-install-") as dest:
        args = ["make", "-s", "-C", ROOT, "install", f"DESTDIR={dest}", "PREFIX=/opt/skpi"]
        run(args)
        files = sorted(os.path.relpath(os.path.join(d, f), dest)
                       for d, _, fs in os.walk(dest) for f in fs)
        expected = {
            "opt/skpi/bin/streamkpi_exporter",
            "opt/skpi/share/man/man1/streamkpi_exporter.1",
            "opt/skpi/lib/systemd/system/streamkpi.service",
            "opt/skpi/lib/sysusers.d/streamkpi.conf",
            "opt/skpi/lib/tmpfiles.d/streamkpi.conf",
            "opt/skpi/etc/streamkpi/streamkpi.yml",
            "opt/skpi/share/doc/streamkpi/examples/streamkpi.yml",
        }
        assert expected <= set(files), sorted(expected - set(files))
        for src in glob.glob(os.path.join(ROOT, "dashboards", "*.json")):
            assert f"opt/skpi/share/streamkpi/dashboards/{os.path.basename(src)}" in files
        for src in glob.glob(os.path.join(ROOT, "alerts", "*.yml")):
            assert f"opt/skpi/share/streamkpi/alerts/{os.path.basename(src)}" in files
        assert all(f.startswith("opt/skpi/") for f in files), files
        assert os.access(os.path.join(dest, "opt/skpi/bin/streamkpi_exporter"), os.X_OK)

        with open(os.path.join(dest, "opt/skpi/lib/systemd/system/streamkpi.service")) as f:
            unit = f.read()
        execs = [l for l in unit.splitlines() if l.startswith(("ExecStart=", "ExecStartPre="))]
        assert len(execs) == 2
        for line in execs:
            assert "=/opt/skpi/bin/streamkpi_exporter " in line, line
            assert "--config.file=/opt/skpi/etc/streamkpi/streamkpi.yml" in line, line

        conf = os.path.join(dest, "opt/skpi/etc/streamkpi/streamkpi.yml")
        with open(conf, "a") as f:
            f.write("# changed by the administrator\n")
        run(args)
        with open(conf) as f:
            assert f.read().endswith("# changed by the administrator\n")


# ---------------------------------------------------------------- Debian package


def system_files():
    """Every path under /etc, /usr and /var/lib, except the package lists and
    the container store (apt and podman caches other work may change)."""
    skip = ("/var/lib/apt/lists", "/var/lib/containers")
    out = set()
    for top in ("/etc", "/usr", "/var/lib"):
        for d, dirs, fs in os.walk(top):
            dirs[:] = [x for x in dirs if os.path.join(d, x) not in skip]
            out.update(os.path.join(d, x) for x in dirs + fs)
    return out


def owned_by_other_package(path):
    """True when dpkg lists path in a package other than ours: something the
    shared machine installed meanwhile, not a leftover of ours."""
    p = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
    if p.returncode != 0:
        return False
    owners = {o.strip() for line in p.stdout.splitlines() for o in line.split(":", 1)[0].split(",")}
    return bool(owners) and PKG not in owners


def installed(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
    return p.returncode == 0 and "installed" in p.stdout


@pytest.fixture
def dpkg_lock():
    """One package test at a time on this machine (other checkouts run it too)."""
    if os.geteuid() != 0:
        r = subprocess.run(["sudo", "-n", "true"], capture_output=True)
        pytest.fail("the package test installs with dpkg: run as root"
                    + (" (sudo -n works: run the suite with sudo)" if r.returncode == 0 else ""),
                    pytrace=False)
    with open("/tmp/streamkpi-package-test.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def test_deb_installs_runs_as_its_user_and_purges_without_leftovers(dpkg_lock):
    for tool in ("dpkg-buildpackage", "dh", "systemd-analyze", "setpriv"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is missing: scripts/deps.sh installs it", pytrace=False)
    if installed(PKG):
        pytest.fail(f"{PKG} is already installed on this machine: `dpkg -P {PKG}` first", pytrace=False)
    deb = run([DEB_BUILD]).stdout.strip().splitlines()[-1]
    assert deb.endswith(".deb") and os.path.isfile(deb), deb

    contents = run(["dpkg-deb", "-c", deb]).stdout
    for path in ("./usr/bin/streamkpi_exporter", "./usr/share/man/man1/streamkpi_exporter.1.gz",
                 "./lib/systemd/system/streamkpi.service", "./usr/lib/sysusers.d/streamkpi.conf",
                 "./usr/lib/tmpfiles.d/streamkpi.conf", "./etc/streamkpi/streamkpi.yml"):
        assert path in contents, path
    assert run(["dpkg-deb", "-f", deb, "Package"]).stdout.strip() == PKG
    ctl = tempfile.mkdtemp(prefix="skpi-deb-ctl-")
    try:
        run(["dpkg-deb", "-e", deb, ctl])
        with open(os.path.join(ctl, "conffiles")) as f:
            assert f.read().split() == ["/etc/streamkpi/streamkpi.yml"]
    finally:
        shutil.rmtree(ctl)

    before = system_files()
    proc = log = None
    try:
        run(["dpkg", "-i", deb])
        assert installed(PKG)
        user = pwd.getpwnam(USER)
        assert user.pw_uid != 0 and user.pw_shell.endswith("nologin")
        assert user.pw_dir == "/var/lib/streamkpi"
        st = os.stat("/var/lib/streamkpi")
        assert (st.st_uid, st.st_gid) == (user.pw_uid, user.pw_gid)
        st = os.stat("/etc/streamkpi/streamkpi.yml")
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, grp.getgrnam(USER).gr_gid, 0o640)

        unit = "/lib/systemd/system/streamkpi.service"
        p = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        assert "streamkpi.service" not in p.stderr, p.stderr

        # As the unit runs it: its user, its working directory, the check first.
        with open(unit) as f:
            lines = f.read().splitlines()
        pre = next(l.split("=", 1)[1] for l in lines if l.startswith("ExecStartPre="))
        start = next(l.split("=", 1)[1] for l in lines if l.startswith("ExecStart="))
        workdir = next(l.split("=", 1)[1] for l in lines if l.startswith("WorkingDirectory="))
        as_user = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
                   "--inh-caps=-all"]
        p = subprocess.run(as_user + pre.split(), cwd=workdir, capture_output=True, text=True)
        assert p.returncode == 0, p.stderr + p.stdout

        port = free_port()
        log = tempfile.TemporaryFile("w+")
        proc = subprocess.Popen(as_user + start.split() + [f"--web.listen-address=127.0.0.1:{port}"],
                                cwd=workdir, stdout=log, stderr=subprocess.STDOUT)

        def healthz():
            assert proc.poll() is None, "the exporter exited"
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                return r.status == 200

        try:
            poll("/healthz of the installed exporter", healthz)
        except BaseException:
            log.seek(0)
            print(log.read()[-4000:])
            raise
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        proc = None
        state = os.path.join(workdir, "streamkpi-state.json")
        assert os.path.isfile(state), "SIGTERM did not write the state file in the state directory"
        assert os.stat(state).st_uid == user.pw_uid
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        if log is not None:
            log.close()
        purge = subprocess.run(["dpkg", "-P", PKG], capture_output=True, text=True)
    assert purge.returncode == 0, purge.stderr
    assert subprocess.run(["dpkg-query", "-W", PKG], capture_output=True).returncode != 0
    after = system_files()
    left = sorted(p for p in after - before if not owned_by_other_package(p))
    gone = sorted(p for p in before - after if not p.startswith("/var/lib/dpkg/"))
    assert not left, f"left behind by the package: {left}"
    assert not gone, f"removed by the package though it was there before: {gone}"
    # Purge also removes the system user and group (see packaging/README.md).
    with pytest.raises(KeyError):
        pwd.getpwnam(USER)
    with pytest.raises(KeyError):
        grp.getgrnam(USER)


# ---------------------------------------------------------------- container


def containerfile_stages():
    """The Containerfile as a list of stages, each a list of (INSTRUCTION,
    argument text) with continuation lines joined."""
    with open(CONTAINERFILE) as f:
        text = re.sub(r"\\\n", " ", f.read())
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, arg = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            stages.append([])
        assert stages, f"instruction before FROM: {line}"
        stages[-1].append((instr, " ".join(arg.split())))
    return stages


def apt_installs(stage):
    pkgs = []
    for instr, arg in stage:
        if instr == "RUN":
            for part in arg.split("&&"):
                words = part.split()
                if words[:2] == ["apt-get", "install"]:
                    pkgs += [w for w in words[2:] if not w.startswith("-")]
    return pkgs


def library_package(path):
    """The Debian package holding a shared library, under any of its names
    (/lib and /usr/lib are one directory on a merged-/usr system)."""
    real = os.path.realpath(path)
    for cand in (path, real, re.sub(r"^/usr/lib/", "/lib/", real), re.sub(r"^/lib/", "/usr/lib/", real)):
        p = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True)
        if p.returncode == 0:
            return p.stdout.split(":", 1)[0]
    pytest.fail(f"no Debian package holds {path}", pytrace=False)


def test_containerfile_is_multistage_slim_nonroot_with_state_volume_and_healthcheck():
    stages = containerfile_stages()
    assert len(stages) >= 2
    build, runtime = stages[0], stages[-1]
    assert re.fullmatch(r"\S*debian:\S+ AS build", build[0][1]), build[0]
    assert re.fullmatch(r"\S*debian:[a-z]+-slim", runtime[0][1]), runtime[0]
    assert any(i == "RUN" and "make" in a and "build/streamkpi_exporter" in a for i, a in build)
    for i, a in build + runtime:
        if i == "COPY":
            srcs = [w for w in a.split() if not w.startswith("--")][:-1]
            if "--from=build" in a:
                continue
            for s in srcs:
                assert os.path.exists(os.path.join(ROOT, s)), f"COPY of a missing path: {s}"
        assert i != "ADD", "ADD fetches or unpacks: COPY only"
    instrs = dict((i, a) for i, a in runtime)
    assert any(i == "COPY" and a.startswith("--from=build ") and a.endswith(" /usr/bin/streamkpi_exporter")
               for i, a in runtime)
    user = instrs["USER"].split(":")[0]
    assert user.isdigit() and int(user) != 0, "USER must be a numeric non-root uid (runAsNonRoot checks it)"
    assert instrs["VOLUME"] in ('["/var/lib/streamkpi"]', "/var/lib/streamkpi")
    assert instrs["WORKDIR"] == "/var/lib/streamkpi", "a relative state.path must land in the volume"
    hc = instrs["HEALTHCHECK"]
    assert "CMD" in hc and "http://127.0.0.1:10308/healthz" in hc
    assert "curl" in apt_installs(runtime), "the health check's client must be installed"
    assert '"/usr/bin/streamkpi_exporter"' in instrs["ENTRYPOINT"]
    # The runtime stage installs the package of every library the binary links.
    require(RELEASE, "make build/streamkpi_exporter")
    paths = dict(re.findall(r"(\S+) => (/\S+)", run(["ldd", RELEASE]).stdout))
    needed = re.findall(r"NEEDED\s+(\S+)", run(["objdump", "-p", RELEASE]).stdout)
    assert len(needed) >= 8, needed
    direct = {library_package(paths[lib]) for lib in needed}
    base = {"libc6", "libgcc-s1"}
    missing = sorted(direct - base - set(apt_installs(runtime)))
    assert not missing, f"runtime stage lacks the packages of linked libraries: {missing}"

    # podman (when installed) builds it; here registries may be unreachable,
    # which the file checks above stand in for (packaging/README.md).
    if shutil.which("podman"):
        p = subprocess.run(["podman", "build", "-q", "-f", CONTAINERFILE, "-t", "streamkpi:test", ROOT],
                           capture_output=True, text=True, timeout=900)
        if p.returncode != 0:
            reachable = not re.search(r"pinging container registry|no such host|"
                                      r"initializing source docker://", p.stderr)
            assert not reachable, f"podman build failed:\n{p.stderr[-3000:]}"
            print(f"podman build could not pull its base images: {p.stderr.strip().splitlines()[-1]}")
        else:
            subprocess.run(["podman", "rmi", "-f", "streamkpi:test"], capture_output=True)


# ---------------------------------------------------------------- Helm chart


@pytest.fixture(scope="module")
def chart(tmp_path_factory):
    helm, kubeconform, swagger, crds, k8s = pkg_tools()
    for path in (helm, kubeconform):
        require(path, "scripts/deps.sh builds it from the Go module proxy")
    for path in (swagger, crds):
        if not os.path.exists(path):
            pytest.fail(f"{path} is missing: scripts/deps.sh downloads its Go module", pytrace=False)
    schemas = os.path.join(ROOT, "build", "kube-schemas", k8s)
    done = os.path.join(schemas, ".complete")
    script = os.path.join(ROOT, "scripts", "kube-schemas.py")
    # pytest-xdist workers share build/: one generates the schemas while the
    # others wait on the lock (a second generation would remove the first's
    # files under it).
    os.makedirs(os.path.dirname(schemas), exist_ok=True)
    with open(schemas + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.isfile(done) or os.path.getmtime(script) > os.path.getmtime(done):
            shutil.rmtree(schemas, ignore_errors=True)
            run(["python3", script, schemas, swagger, os.path.join(crds, "servicemonitors-crd.json"),
                 os.path.join(crds, "prometheusrules-crd.json")])
            open(done, "w").close()
    # Each worker renders its own copy of the chart.
    out = str(tmp_path_factory.mktemp("helm") / "streamkpi")
    path = run([CHART_BUILD, out]).stdout.strip().splitlines()[-1]
    return {"helm": helm, "kubeconform": kubeconform, "schemas": schemas, "path": path}


SECRETS = ["--set", "existingConfigSecret=skpi-config", "--set", "kafkaTLSSecret=skpi-kafka-tls",
           "--set", "webhookTokenSecret=skpi-webhook", "--set", "persistence.enabled=false"]


def render(chart, *args):
    out = run([chart["helm"], "template", "skpi", chart["path"], *args]).stdout
    return out, [d for d in yaml.safe_load_all(out) if d]


def kubeconform(chart, manifests):
    return subprocess.run([chart["kubeconform"], "-strict", "-summary", "-schema-location",
                           os.path.join(chart["schemas"], "{{ .ResourceKind }}{{ .KindSuffix }}.json")],
                          input=manifests, capture_output=True, text=True)


@pytest.mark.parametrize("values", [[], SECRETS], ids=["defaults", "secrets-emptydir"])
def test_helm_chart_lints_and_validates_against_kubernetes_schemas(chart, values):
    run([chart["helm"], "lint", "--strict", chart["path"], *values])
    out, docs = render(chart, *values)
    kinds = sorted(d["kind"] for d in docs)
    expected = ["Deployment", "PrometheusRule", "Service", "ServiceMonitor"]
    expected += ["PersistentVolumeClaim", "ConfigMap"] if not values else []
    assert kinds == sorted(expected), kinds
    p = kubeconform(chart, out)
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"Valid: {len(docs)}, Invalid: 0, Errors: 0, Skipped: 0" in p.stdout, p.stdout


def test_kubeconform_schemas_refuse_an_unknown_field_and_a_wrong_type(chart):
    out, docs = render(chart)
    dep = next(d for d in docs if d["kind"] == "Deployment")
    dep["spec"]["template"]["spec"]["containers"][0]["securityContex"] = {}
    p = kubeconform(chart, yaml.safe_dump(dep))
    assert p.returncode != 0 and "securityContex" in p.stdout, p.stdout
    rule = next(d for d in docs if d["kind"] == "PrometheusRule")
    rule["spec"]["groups"][0]["rules"] = "not a list"
    p = kubeconform(chart, yaml.safe_dump(rule))
    assert p.returncode != 0, p.stdout


def test_helm_pod_meets_restricted_pod_security_and_mounts_the_secrets(chart):
    _, docs = render(chart, *SECRETS)
    pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    psc = pod["securityContext"]
    assert psc["runAsNonRoot"] is True and psc["runAsUser"] != 0
    assert psc["seccompProfile"] == {"type": "RuntimeDefault"}
    (c,) = pod["containers"]
    sc = c["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts["state"] == "/var/lib/streamkpi" == c["workingDir"]
    vols = {v["name"]: v for v in pod["volumes"]}
    assert vols["state"] == {"name": "state", "emptyDir": {}}
    assert vols["config"]["secret"]["secretName"] == "skpi-config"
    assert vols["kafka-tls"]["secret"]["secretName"] == "skpi-kafka-tls"
    assert vols["webhook-token"]["secret"]["secretName"] == "skpi-webhook"
    assert mounts["kafka-tls"] == "/etc/streamkpi/tls" and mounts["webhook-token"] == "/etc/streamkpi/webhook"
    assert "--config.file=/etc/streamkpi/config/streamkpi.yml" in c["args"]
    assert mounts["config"] == "/etc/streamkpi/config"

    _, docs = render(chart)
    pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    pvc = next(d for d in docs if d["kind"] == "PersistentVolumeClaim")
    vols = {v["name"]: v for v in pod["volumes"]}
    assert vols["state"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    cm = next(d for d in docs if d["kind"] == "ConfigMap")
    assert vols["config"]["configMap"]["name"] == cm["metadata"]["name"]
    assert "clusters" in yaml.safe_load(cm["data"]["streamkpi.yml"])


def test_helm_prometheus_rule_holds_every_group_of_alerts(chart):
    _, docs = render(chart)
    rule = next(d for d in docs if d["kind"] == "PrometheusRule")
    groups = []
    for path in sorted(glob.glob(os.path.join(ROOT, "alerts", "*.yml"))):
        with open(path) as f:
            groups += (yaml.safe_load(f) or {}).get("groups", [])
    assert groups, "alerts/ holds no rule group"
    assert rule["spec"]["groups"] == groups
    # The rules' own templates reach Prometheus untouched by helm.
    annotations = [r.get("annotations", {}) for g in rule["spec"]["groups"] for r in g["rules"]]
    assert any("{{" in v for a in annotations for v in a.values()), "no templated annotation seen"
