"""The Complete Discovery Platform in a real browser: Voila serves apps/platform.ipynb, Debian's Chromium (driven by
Selenium through chromedriver) opens it, types a query in the shared query box and waits for the map to change.

Skipped, with the reason, where Chromium, chromedriver, Selenium or Voila is missing (install: `apt-get install chromium
chromium-driver`, and the dev requirements). Runs in about a minute: Voila's kernel loads the released models.
"""
import importlib.util, os, re, shutil, signal, socket, subprocess, sys, tempfile, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT/'apps'/'platform.ipynb'
CHROMIUM = os.environ.get('SEMATLAS_CHROMIUM', '/usr/bin/chromium')
CHROMEDRIVER = os.environ.get('SEMATLAS_CHROMEDRIVER', '/usr/bin/chromedriver')
OPEN_S, CHANGE_S = 240, 120             # the page's first map (kernel start, model loading), then a new query's map


def _missing() -> str:
    "Why the test cannot run here ('' when it can)."
    for path, what in ((CHROMIUM, 'Chromium'), (CHROMEDRIVER, 'chromedriver')):
        if not (Path(path).exists() or shutil.which(path)): return f"{what} not found at {path} (apt-get install chromium chromium-driver)"
    for mod in ('selenium', 'voila'):
        if importlib.util.find_spec(mod) is None: return f"the Python package {mod} is not installed (pip install -e '.[dev]')"
    return ''


def _voila_env() -> dict:
    """The environment for Voila, with the data folders of the installations that hold the widgets' front ends added to
    JUPYTER_PATH: a virtual environment made with --system-site-packages imports its parent's jupyterlab_widgets, anywidget
    and plotly, but Voila looks for their front ends (labextensions) in its own prefix only, and without them it falls
    back to the ipywidgets 7 front end, which shows no ipywidgets 8 widget."""
    from jupyter_core.paths import jupyter_path
    env, known, extra = dict(os.environ), {Path(p).resolve() for p in jupyter_path()}, []
    for mod in ('jupyterlab_widgets', 'anywidget', 'plotly'):
        spec = importlib.util.find_spec(mod)
        if spec is None or not spec.origin: continue
        site = Path(spec.origin).resolve().parents[1]           # .../lib/pythonX.Y/site-packages
        share = site.parents[2]/'share'/'jupyter'
        if (share/'labextensions').is_dir() and share.resolve() not in known and str(share) not in extra: extra.append(str(share))
    if extra: env['JUPYTER_PATH'] = os.pathsep.join(extra + [p for p in env.get('JUPYTER_PATH', '').split(os.pathsep) if p])
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


@pytest.fixture
def voila_url():
    "Voila serving the platform page on a free localhost port; stopped (with its kernel) afterwards."
    port = _free_port()
    log = tempfile.NamedTemporaryFile('w+', prefix='voila-', suffix='.log', delete=False)
    cmd = [sys.executable, '-m', 'voila', '--no-browser', f'--port={port}', '--Voila.ip=127.0.0.1', '--show_tracebacks=True',
           str(PAGE.relative_to(ROOT))]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_voila_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f'http://127.0.0.1:{port}/'
    try:
        t = time.time()
        while True:                                             # the server answers once it listens
            if proc.poll() is not None: pytest.fail(f"voila exited with {proc.returncode}:\n{Path(log.name).read_text()[-3000:]}")
            try:
                with socket.create_connection(('127.0.0.1', port), timeout=1): break
            except OSError:
                if time.time() - t > 60: pytest.fail(f"voila did not listen on port {port} within 60 s")
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)                     # voila and the kernel it started (its own session)
        try: proc.wait(20)
        except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL); proc.wait(5)
        print(Path(log.name).read_text()[-2000:]); os.unlink(log.name)


@pytest.fixture
def browser():
    "Headless Chromium with a fresh, empty profile; it saves downloads into `driver.downloads` without asking."
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    profile, downloads = tempfile.mkdtemp(prefix='chromium-profile-'), tempfile.mkdtemp(prefix='chromium-downloads-')
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    opts.add_experimental_option('prefs', {'download.default_directory': downloads, 'download.prompt_for_download': False})
    for flag in ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--window-size=1400,1000', f'--user-data-dir={profile}'):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.downloads = Path(downloads)
    try: yield driver
    finally:
        driver.quit(); shutil.rmtree(profile, ignore_errors=True); shutil.rmtree(downloads, ignore_errors=True)


def _map_id(driver) -> str:
    "The readout's hash of the current map ('' before the first map)."
    from selenium.webdriver.common.by import By
    els = driver.find_elements(By.CSS_SELECTOR, '.sematlas-map-readout .sematlas-map-id')
    return els[0].text.strip() if els else ''


def _wait(driver, seconds: float, condition, poll: float = 0.5):
    "Wait until `condition(driver)` is truthy; an element replaced while it is read (the widgets redraw) is read again."
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, seconds, poll_frequency=poll, ignored_exceptions=(StaleElementReferenceException,)).until(condition)


def _text(driver, css: str) -> str:
    "The text of the first element matching `css`, read again if it is redrawn meanwhile."
    from selenium.webdriver.common.by import By
    return _wait(driver, 10, lambda d: d.find_element(By.CSS_SELECTOR, css).text or ' ')


def _srcs(driver) -> list:
    "The sources of the platform's images."
    from selenium.webdriver.common.by import By
    return _wait(driver, 10, lambda d: [e.get_attribute('src') for e in d.find_elements(By.CSS_SELECTOR, '.sematlas-platform img')] or None)


def test_platform_in_a_browser(request):
    why = _missing()
    if why: pytest.skip(f"no browser test: {why}")
    url, driver = request.getfixturevalue('voila_url'), request.getfixturevalue('browser')
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    t0 = time.time()
    driver.get(url)
    first = _wait(driver, OPEN_S, _map_id)
    opened = time.time() - t0
    readout = _text(driver, '.sematlas-map-readout')
    assert 'Counterfactual Machine' in readout and 'working memory' in readout, readout
    images = _srcs(driver)
    assert images and all(images), 'the map views have no image'
    box = driver.find_element(By.CSS_SELECTOR, '.sematlas-query input')
    box.send_keys(Keys.CONTROL, 'a'); box.send_keys('pain', Keys.ENTER)     # replace the text; the box sends its value on Enter
    t1 = time.time()
    def new_map(d):
        m, text = _map_id(d), d.find_element(By.CSS_SELECTOR, '.sematlas-map-readout').text
        return m if m and m != first and 'pain' in text else ''
    second = _wait(driver, CHANGE_S, new_map)
    changed = time.time() - t1
    readout = _text(driver, '.sematlas-map-readout')
    assert 'text: pain' in readout and re.fullmatch(r'[0-9a-f]{12}', second), readout
    assert _wait(driver, 30, lambda d: _srcs(d) != images)   # the views redrew
    name = f'sematlas-counterfactual-{second}.nii.gz'
    def save(d):                                                # the browser saves the map: a NIfTI file whose values hash to the readout's id
        link = d.find_element(By.CSS_SELECTOR, 'a.sematlas-map-link')
        if link.get_attribute('download') != name: return False
        assert link.get_attribute('href').startswith('data:application/gzip;base64,')
        link.click(); return True
    _wait(driver, 30, save)
    saved = driver.downloads/name
    _wait(driver, 30, lambda d: saved.exists(), poll=0.2)
    import hashlib, nibabel as nib, numpy as np
    img = nib.load(saved)
    assert img.shape == (46, 55, 46) and int(img.header['sform_code']) == 4
    assert hashlib.sha1(np.asarray(img.dataobj, 'float32').tobytes()).hexdigest()[:12] == second
    def open_hierarchy(d):                                      # a tab is built when first shown; the readout follows it
        tab = [e for e in d.find_elements(By.CSS_SELECTOR, '.lm-TabBar-tab') if e.text.strip() == 'Hierarchy']
        assert tab, 'no Hierarchy tab'
        tab[0].click(); return True
    _wait(driver, 10, open_hierarchy)
    _wait(driver, CHANGE_S, lambda d: d.find_element(By.CSS_SELECTOR, '.sematlas-map-readout').text.startswith('Hierarchy: hierarchy node'))
    _wait(driver, 10, lambda d: any('closest to pain' in e.text for e in d.find_elements(By.CSS_SELECTOR, '.sematlas-tab-note')))     # the state reached it
    if os.environ.get('SEMATLAS_SCREENSHOT'): driver.save_screenshot(os.environ['SEMATLAS_SCREENSHOT'])     # to look at the page
    print(f"page with its first map in {opened:.1f} s; the new query's map in {changed:.1f} s")
