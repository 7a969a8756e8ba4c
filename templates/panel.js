// Arrow keys step the slides while the Presentation tab is visible and no input has focus;
// the countdown runs in the browser (no server round trip per tick).
(() => {
  document.addEventListener('keydown', (e) => {
    const t = e.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
    const deck = document.getElementById('slide-deck');
    if (!deck || deck.offsetParent === null) return;
    const id = {ArrowRight: 'next-btn', PageDown: 'next-btn', ArrowLeft: 'prev-btn', PageUp: 'prev-btn'}[e.key];
    if (!id) return;
    const btn = document.getElementById(id);
    if (btn) { e.preventDefault(); btn.click(); }
  });
  let left = null, running = false, last = null;
  const box = () => document.getElementById('pt-timer');
  const fmt = (s) => { s = Math.max(0, Math.ceil(s)); return String(Math.floor(s / 60)).padStart(2, '0') + ':' + String(s % 60).padStart(2, '0'); };
  function tick() {
    const t = box(); if (!t) return;
    const total = Number(t.dataset.total || 1200);
    if (left === null) left = total;
    const now = performance.now();
    if (running && last !== null) { left -= (now - last) / 1000; if (left <= 0) { left = 0; running = false; } }
    last = now;
    const used = total - left;
    t.querySelector('.pt-clock').textContent = fmt(left);
    t.querySelector('.pt-needle').style.left = (100 * used / total) + '%';
    t.classList.toggle('pt-late', left < 120);
    const plan = JSON.parse(t.dataset.plan || '[]');
    const keys = plan.map(p => p.key);
    const expected = plan.find(p => used < p.end) || plan[plan.length - 1];
    const slide = document.querySelector('#slide-deck .slide');
    const pace = t.querySelector('.pt-pace');
    if (!expected || !slide) { pace.textContent = ''; return; }
    const cur = keys.indexOf(slide.dataset.section), want = keys.indexOf(expected.key);
    const until = fmt(total - expected.end);
    const state = cur === want ? 'on' : (cur < want ? 'behind' : 'ahead');
    pace.className = 'pt-pace ' + state;
    pace.textContent = t.dataset[state].replace('{section}', expected.label).replace('{until}', until);
  }
  setInterval(tick, 250);
  window.panelTimer = {
    start() { running = true; last = performance.now(); },
    pause() { tick(); running = false; },
    reset() { running = false; left = null; tick(); },
  };
})();
