// The presentation deck (harness/panel/deck.py renders it): stepping, keyboard, overview, full
// screen, the countdown and the presenter draw all run here, with no server round trip, and
// survive a reload or a language switch: the state lives in sessionStorage (this browser tab),
// the light/dark choice too.
(() => {
  const KEY = 'inf395.panel.';
  const load = (store, k, d) => { try { const v = store.getItem(KEY + k); return v === null ? d : JSON.parse(v); } catch (e) { return d; } };
  const save = (store, k, v) => { try { store.setItem(KEY + k, JSON.stringify(v)); } catch (e) { /* private mode: state lasts the page */ } };
  const S = window.sessionStorage;
  const deck = () => document.getElementById('deck');
  const slides = () => Array.from(document.querySelectorAll('#deck .deck-slides > .slide'));
  // ?view=audience: the projector's window shows the slide alone, following the talk (its state is
  // the server's, shared with the presenter's window); `harness serve` prints the address.
  const view = new URLSearchParams(location.search).get('view');
  const audience = view === 'audience';
  // ?view=presenter: the presenter's window: the slide, and beside it the next one, the notes and the
  // talk's job (harness/panel/deck.py renders the column, hidden in every other view).
  const presenting = view === 'presenter';
  // (Gradio scopes the page's CSS under its container: the class goes on the deck, not on <html>.)
  // In full screen (and in the audience view) the deck is position: fixed, whose offsetParent is null:
  // visible all the same.
  const visible = () => { const d = deck(); return d && (d.offsetParent !== null || document.fullscreenElement === d || audience || presenting) ? d : null; };

  // ---------------------------------------------------------------- slides
  let current = load(S, 'slide', null);  // the slide's item id: stays put when the deck is re-rendered
  const index = () => Math.max(0, slides().findIndex(el => el.dataset.item === current));

  function note(text) {
    const el = document.querySelector('#deck .deck-note');
    if (!el) return;
    el.textContent = text || '';
    clearTimeout(note.timer);
    if (text) note.timer = setTimeout(() => { el.textContent = ''; }, 2500);
  }

  function show(n) {
    const all = slides();
    if (!all.length) return;
    n = Math.max(0, Math.min(all.length - 1, n));
    all.forEach((el, i) => { el.hidden = i !== n; });
    current = all[n].dataset.item;
    save(S, 'slide', current);
    const count = document.querySelector('#deck .deck-count');
    if (count) count.textContent = (n + 1) + ' / ' + all.length;
    if (presenting) side(all, n);
    fit();
  }

  // The presenter view's column: the notes of the slide on screen, and the next slide's title and figure.
  function side(all, n) {
    document.querySelectorAll('#deck .side-notes').forEach(el => { el.hidden = el.dataset.item !== current; });
    const box = document.querySelector('#deck .side-next-body');
    if (!box) return;
    const next = all[n + 1];
    box.replaceChildren();
    if (!next) { box.textContent = box.dataset.end; return; }
    const title = next.querySelector('h2'), img = next.querySelector('.slide-fig img');
    if (title) box.append(title.cloneNode(true));
    if (img) { const i = document.createElement('img'); i.src = img.currentSrc || img.src; i.alt = img.alt; box.append(i); }
  }

  // ---------------------------------------------------------------- one talk, every window
  // The talk's slide, timer and presenter are held by the server (Panel.talk): a move here is sent
  // at once, and every window asks for the talk's state five times a second, so a second window, a
  // reload or the projector's full screen show the same slide and clock within 200 ms.
  const talk = {version: -1, asking: false, sending: 0};
  const talkUrl = () => ((window.gradio_config && window.gradio_config.root) || location.origin).replace(/\/$/, '')
    + '/gradio_api/run/talk';
  function share(change) {
    // The presenter view also asks for the talk's job, in the deck's language.
    const lang = presenting && deck() ? deck().dataset.lang : '';
    const body = JSON.stringify({data: [change ? JSON.stringify(change) : '', lang]});
    if (change) talk.sending++;
    return fetch(talkUrl(), {method: 'POST', headers: {'Content-Type': 'application/json'}, body, credentials: 'same-origin'})
      .then(r => r.ok ? r.json() : null)
      .then(out => {
        if (out && out.data && presenting) job(JSON.parse(out.data[0]));
        // While a later move of this window is on its way, this answer is older: it would pull the slide back.
        if (out && out.data && talk.sending === (change ? 1 : 0)) adopt(JSON.parse(out.data[0]));
      })
      .catch(() => {})  // the server is gone or restarting: this window keeps its own state
      .finally(() => { if (change) talk.sending--; });
  }
  function adopt(state) {
    if (!state || state.version <= talk.version) return;
    talk.version = state.version;
    if (state.slide && state.slide !== current && slides().some(el => el.dataset.item === state.slide)) {
      current = state.slide;
      save(S, 'slide', current);
      show(index());
    }
    if ('timer' in state && JSON.stringify(state.timer) !== JSON.stringify(timer)) setTimer(state.timer, false);
    if ('presenter' in state && state.presenter !== load(S, 'presenter', null)) {
      save(S, 'presenter', state.presenter);
      presenter(false);
    }
  }
  function job(state) {  // the server wrote the line (harness/panel/views.progress_html), escaped
    const line = document.querySelector('#deck .side-job-line'), btn = document.querySelector('#deck [data-act=cancel]');
    if (line && 'job' in state && line.innerHTML !== state.job) line.innerHTML = state.job;
    if (btn && 'job_active' in state) btn.disabled = !state.job_active;
    const said = document.querySelector('#deck .side-job-said');
    if (said && state.said) said.textContent = state.said;
  }
  function go(n) {  // a move made in this window: shown here, then sent to the talk
    show(n);
    share({slide: current});
  }
  setInterval(() => {
    if (talk.asking || !deck()) return;
    talk.asking = true;
    share(null).finally(() => { talk.asking = false; });
  }, 150);

  function step(delta) {  // never wraps: the ends say so instead
    const d = deck(), j = index() + delta;
    if (j < 0) return note(d.dataset.first);
    if (j >= slides().length) return note(d.dataset.last);
    note('');
    go(j);
  }

  // The deck fills the window below the page header; the text column shrinks its font until it fits.
  function fit() {
    const d = visible();
    if (!d) return;
    const full = document.fullscreenElement === d;
    const top = d.getBoundingClientRect().top + window.scrollY;
    const h = full ? window.innerHeight : Math.max(340, window.innerHeight - top - 8);
    d.style.height = h + 'px';
    d.style.setProperty('--deck-h', h + 'px');
    const slide = slides()[index()];
    const text = slide && slide.querySelector('.slide-text');
    if (!text) return;
    const over = () => text.scrollHeight > text.clientHeight + 1;
    // Undo what the last fit did to this slide (a resize, another language, a figure that loaded).
    slide.style.gridTemplateColumns = '';
    text.querySelectorAll('li.spill').forEach(li => { li.classList.remove('spill'); li.hidden = false; });
    // The projector (the audience view, full screen) is read from the back row: 18 px. The tab and the
    // presenter's window are read from the laptop: 14 px, the figure keeps its width there.
    const floor = audience || full ? 18 : 14;
    let px = Math.max(floor, Math.min(24, Math.round(window.innerHeight / 38)));
    text.style.fontSize = px + 'px';
    while (over() && px > floor) { px -= 1; text.style.fontSize = px + 'px'; }
    // A wide figure sits under the text: it gives up height before the text shrinks more.
    let share = 0.52;
    const img = slide.classList.contains('wide') && slide.querySelector('.slide-fig img');
    if (img) img.style.maxHeight = Math.round(share * h) + 'px';
    while (img && over() && share > 0.4) {  // 0.4: the height harness/figure_screen.py renders for
      share -= 0.03; img.style.maxHeight = Math.round(share * h) + 'px'; }
    // A figure beside the text gives up width: half, then two fifths of the slide.
    for (const cols of ['1fr 1fr', '3fr 2fr']) {
      if (!over() || img || floor < 18 || slide.classList.contains('no-fig')) break;
      slide.style.gridTemplateColumns = cols.split(' ').map(c => `minmax(0, ${c})`).join(' ');
    }
    // Still too long at 18 px: the last points leave this screen whole (never cut mid-sentence); two stay.
    const points = Array.from(text.querySelectorAll('ul.points > li'));
    for (let i = points.length - 1; over() && floor >= 18 && i >= 2; i--) { points[i].hidden = true; points[i].classList.add('spill'); }
    while (over() && px > 11) { px -= 1; text.style.fontSize = px + 'px'; }
  }

  function overview(open) {
    const ov = document.querySelector('#deck .deck-overview');
    if (ov) ov.hidden = open === undefined ? !ov.hidden : !open;
  }

  function fullscreen() {
    const d = visible();
    if (!d) return;
    if (document.fullscreenElement) document.exitFullscreen(); else if (d.requestFullscreen) d.requestFullscreen();
  }
  document.addEventListener('fullscreenchange', () => setTimeout(fit, 50));
  window.addEventListener('resize', () => fit());

  let digits = '', jumpTimer = null;
  function jump() {
    clearTimeout(jumpTimer);
    const n = parseInt(digits, 10);
    digits = '';
    if (n >= 1 && n <= slides().length) { note(''); go(n - 1); } else if (!Number.isNaN(n)) note('✗ ' + n);
  }
  // Typing in a field keeps its keys; a radio, checkbox or button just clicked (the language radio) does
  // not: its arrow keys would switch the language instead of the slide.
  const CLICKED = ['radio', 'checkbox', 'button', 'submit', 'reset'];
  const typing = t => t && (t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable
    || (t.tagName === 'INPUT' && !CLICKED.includes((t.type || '').toLowerCase())));
  document.addEventListener('keydown', (e) => {
    const t = e.target;
    if (typing(t)) return;
    if (!visible() || e.altKey || e.ctrlKey || e.metaKey) return;
    const k = e.key;
    const act = {ArrowRight: () => step(1), PageDown: () => step(1), ArrowLeft: () => step(-1), PageUp: () => step(-1),
      Home: () => go(0), End: () => go(slides().length - 1), f: fullscreen, F: fullscreen,
      o: () => overview(), O: () => overview(), Escape: () => overview(false)}[k];
    if (/^[0-9]$/.test(k)) {  // a number jumps: on Enter, or after a short pause
      digits = (digits + k).slice(-3);
      note('→ ' + digits);
      clearTimeout(jumpTimer);
      jumpTimer = setTimeout(jump, 1200);
      e.preventDefault();
      return;
    }
    if (k === 'Enter' && digits) { e.preventDefault(); jump(); return; }
    if (act) {
      e.preventDefault();
      if (t && t.tagName === 'INPUT') t.blur();  // the deck has the keys from now on
      digits = '';
      act();
    }
  });

  // ---------------------------------------------------------------- timer
  // {left: seconds remaining at `at` (ms since epoch), running, started}: wall-clock based, so a
  // reload mid-talk finds the clock where it would be had the page stayed open.
  const timerBox = () => document.querySelector('#deck .pt-timer');
  const total = () => Number((timerBox() || {dataset: {}}).dataset.total || 1200);
  let timer = load(S, 'timer', null);
  const remaining = () => !timer ? total() : (timer.running ? timer.left - (Date.now() - timer.at) / 1000 : timer.left);
  const setTimer = (t, shared = true) => { timer = t; save(S, 'timer', t); tick(); if (shared) share({timer: t}); };
  const clock = (s) => {
    const neg = s < 0, a = neg ? Math.floor(-s) : Math.ceil(s);
    return (neg ? '+' : '') + String(Math.floor(a / 60)).padStart(2, '0') + ':' + String(a % 60).padStart(2, '0');
  };
  const timerActs = {
    start: () => { if (!timer || !timer.running) setTimer({left: remaining(), running: true, started: true, at: Date.now()}); },
    pause: () => { if (timer && timer.running) setTimer({...timer, left: remaining(), running: false, at: Date.now()}); },
    reset: () => setTimer(null),
  };

  function needleAt(box, used, plan) {  // segments have a minimum width for their label: place by segment
    const segs = box.querySelectorAll('.pt-seg');
    let start = 0;
    for (let i = 0; i < plan.length; i++) {
      const end = plan[i].end, seg = segs[i];
      if (seg && (used < end || i === plan.length - 1)) {
        const frac = Math.max(0, Math.min(1, (used - start) / (end - start)));
        return seg.offsetLeft + frac * seg.offsetWidth;
      }
      start = end;
    }
    return 0;
  }

  function tick() {
    const box = timerBox();
    if (!box) return;
    const left = remaining(), used = total() - left;
    box.querySelector('.pt-clock').textContent = clock(left);
    box.classList.toggle('pt-late', left < 120 && left >= 0);
    box.classList.toggle('pt-over', left < 0);
    box.classList.toggle('pt-running', !!(timer && timer.running));
    const plan = JSON.parse(box.dataset.plan || '[]');
    box.querySelector('.pt-needle').style.left = needleAt(box, used, plan) + 'px';
    const pace = document.querySelector('#deck .pt-pace');
    const slide = slides()[index()];
    if (!timer || !timer.started || !plan.length || !slide) { pace.hidden = true; return; }  // the plan shows once started
    const keys = plan.map(p => p.key);
    const expected = plan.find(p => used < p.end) || plan[plan.length - 1];
    const cur = keys.indexOf(slide.dataset.section), want = keys.indexOf(expected.key);
    // past 00:00 there is no plan left to keep: the verdict is to close, whatever the slide
    const state = left < 0 ? 'over' : cur === want ? 'on' : (cur < want ? 'behind' : 'ahead');
    pace.hidden = false;
    pace.className = 'pt-pace ' + state;
    pace.textContent = box.dataset[state].replace('{section}', expected.label).replace('{until}', clock(total() - expected.end));
    pace.title = pace.textContent;  // the whole verdict on hover where a narrow screen cuts it
  }

  // ---------------------------------------------------------------- presenter and theme
  function presenter(draw) {
    const box = document.querySelector('#deck .presenter');
    if (!box) return;
    const members = JSON.parse(box.dataset.members || '[]');
    if (draw) {
      if (!members.length) return;  // no team configured: the bar says so, there is nothing to draw
      const r = new Uint32Array(1);
      window.crypto.getRandomValues(r);
      save(S, 'presenter', members[r[0] % members.length]);
      share({presenter: load(S, 'presenter', null)});
    }
    const who = load(S, 'presenter', null);
    const el = box.querySelector('.who');
    if (el) el.textContent = who && members.includes(who) ? who : '—';
  }

  // Light or dark: the header's button flips it for this browser tab (sessionStorage, like the
  // talk's state); until then the page follows Gradio's choice (the system's, or ?__theme=).
  function theme(toggle) {
    let dark = load(S, 'dark', null);
    if (dark === null) dark = document.body.classList.contains('dark') || document.documentElement.classList.contains('dark');
    if (toggle) { dark = !dark; save(S, 'dark', dark); }
    document.body.classList.toggle('dark', dark);
    document.documentElement.classList.toggle('dark', dark);
    const btn = document.getElementById('theme-toggle');
    if (btn) {  // the button names the theme it switches to
      btn.textContent = (dark ? '☀ ' : '☾ ') + (dark ? btn.dataset.light : btn.dataset.dark);
      btn.setAttribute('aria-pressed', String(dark));
    }
  }

  document.addEventListener('click', (e) => {
    const el = e.target.closest && e.target.closest('#deck [data-act], #deck [data-go], [data-act="theme"]');
    if (!el) return;
    const act = el.dataset.act;
    if (el.dataset.go !== undefined) { overview(false); go(Number(el.dataset.go)); return; }
    ({prev: () => step(-1), next: () => step(1), overview: () => overview(), full: fullscreen,
      draw: () => presenter(true), theme: () => theme(true), cancel: () => share({cancel: true}), ...timerActs}[act] || (() => {}))();
  });

  // A (re)rendered deck (page load, language switch, a re-run's new results) picks the state up again.
  // The server renders every slide hidden: bound as soon as it is in the page (the observer runs before
  // the browser paints), so the projector never shows an empty deck between two renders.
  function bind() {
    const btn = document.getElementById('theme-toggle');
    if (btn && btn.dataset.bound !== '1') { btn.dataset.bound = '1'; theme(false); }  // a re-rendered header
    const d = deck();
    if (d && d.dataset.bound !== '1') {
      d.dataset.bound = '1';
      if (audience || presenting) { d.classList.add(audience ? 'audience' : 'presenting'); document.body.style.overflow = 'hidden'; }
      theme(false);
      show(index());
      presenter(false);
    }
  }
  new MutationObserver(bind).observe(document.documentElement, {subtree: true, childList: true});
  setInterval(() => { bind(); tick(); }, 250);
  setInterval(fit, 500);  // a figure that finished decoding, a scrollbar that came or went: fit again
  window.panelDeck = {show, step, index, remaining, timer: timerActs};
})();

// Gradio's own words in the panel's language, not the browser's: Gradio picks its locale from
// navigator.language, and writes some labels (tooltips, screen-reader names) in English always.
// The panel's language is the radio's (#lang); window.PANEL_LANG is the one it opened in.
(() => {
  const LABELS = window.PANEL_GRADIO_LABELS || {};
  const lang = () => {
    const el = document.querySelector('#lang input:checked');
    return el ? el.value : (window.PANEL_LANG || 'es');
  };
  // Gradio's translated strings: its i18n locale, set with the function its own settings page calls.
  // Checked against <html lang> (the locale Gradio shows) each time, not remembered: Gradio sets its
  // locale again from the browser when its config arrives, which may come after this page's first pin.
  let pinning = false;
  async function pin(lg) {
    if (pinning || document.documentElement.lang === lg) return;
    const url = performance.getEntriesByType('resource').map(e => e.name)
      .find(n => /\/assets\/core-[\w-]+\.js(\?|$)/.test(n));
    if (!url) return;  // another Gradio build: its strings follow the browser, ours still follow the panel
    pinning = true;
    try { const core = await import(url); if (core.changeLocale) core.changeLocale(lg); } catch (e) { /* next time */ }
    pinning = false;
  }
  // The labels it writes in English: each English text (with {0}, {1} for what Gradio fills in)
  // becomes a pattern; the panel's language's text is its replacement.
  const escape = s => s.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');
  const patterns = Object.values(LABELS).map(words => {
    const slots = [...words.en.matchAll(/\{(\d)\}/g)].map(m => m[1]);
    const re = new RegExp('^' + words.en.split(/\{\d\}/).map(escape).join('(.+?)') + '$');
    return {re, slots, words};
  });
  function translate(text, lg) {
    for (const {re, slots, words} of patterns) {
      const m = re.exec(text);
      if (m) return words[lg].replace(/\{(\d)\}/g, (_, n) => m[1 + slots.indexOf(n)]);
    }
    return null;
  }
  const ATTRS = [['aria-label', 'Aria'], ['title', 'Title'], ['placeholder', 'Placeholder']];
  function relabel() {
    const lg = lang();
    pin(lg);
    for (const el of document.querySelectorAll('[aria-label],[title],[placeholder]')) {
      for (const [attr, key] of ATTRS) {
        const cur = el.getAttribute(attr);
        if (cur === null) continue;
        // What Gradio wrote: the current value, unless it is the one this function set.
        const orig = cur === el.dataset['gl' + key + 'Set'] ? el.dataset['gl' + key] : cur;
        const out = translate(orig, lg);
        if (out === null) continue;
        el.dataset['gl' + key] = orig;
        el.dataset['gl' + key + 'Set'] = out;
        if (cur !== out) el.setAttribute(attr, out);
      }
    }
  }
  let queued = false;
  const soon = () => { if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; relabel(); }); } };
  new MutationObserver(soon).observe(document.documentElement, {
    subtree: true, childList: true, attributes: true, attributeFilter: ATTRS.map(a => a[0])});
  document.addEventListener('change', e => { if (e.target.closest && e.target.closest('#lang')) soon(); });
  setInterval(() => pin(lang()), 1000);  // a locale Gradio set back with no change on the page
  soon();
})();
