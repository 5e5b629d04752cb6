/* The pilot's home page: one status line (connected to which station, bound or not, and what
   to do when not), the modules' health in one row, the user/RC/aircraft facts, Log out always
   in the header. Loads api, thing (MQTT), then ws, map, tsa, media, mission and liveshare once
   the thing module reports it is connected, and binds the RC to the workspace; once bound, it
   sets the station's RTMP URL for Pilot's live share and offers Start/Stop of the share. The support
   details (per-module Load/Unload, Pilot's log folder and log encryption key) sit behind the
   "Details for support" toggle. */
(function () {
  'use strict';
  var t = window.I18n.t;
  var MODULES = ['thing', 'api', 'ws', 'map', 'tsa', 'media', 'mission', 'liveshare'];
  var state = {
    cfg: null, user: null, workspace: null, rcSn: '', aircraftSn: '',
    params: {}, failed: {}, bound: false, bindTimer: null, binding: null, live: null, share: null,
    apiError: ''
  };
  var toastTimer = null;

  /* Messages are a toast over the page (the page never grows): errors stay until the next
     message, others go after a few seconds. */
  function say(text, kind) {
    Api.show(text, kind || 'info');
    if (toastTimer) clearTimeout(toastTimer);
    toastTimer = kind === 'error' ? null : setTimeout(function () { Api.show('', 'info'); }, 4000);
  }

  function safe(fn) {
    try { return fn(); } catch (e) { say(e.message, 'error'); return undefined; }
  }

  function setText(id, text) {
    document.getElementById(id).textContent = text === undefined || text === '' ? t('home.none') : text;
  }

  /* -- modules ------------------------------------------------------------------------ */

  function paramsFor(name) {
    var cfg = state.cfg, user = state.user;
    switch (name) {
      case 'thing':
        return { host: user.mqtt_addr, username: user.mqtt_username, password: user.mqtt_password,
          connectCallback: 'connectCallback' };
      case 'api':
        return { host: Api.apiHost(), token: currentToken() };
      case 'ws':
        return { host: Api.wsUrl(cfg.ws_path), token: currentToken(), connectCallback: 'wsConnectCallback' };
      case 'map':
        return { userName: user.username, elementPreName: cfg.element_prefix };
      case 'media':
        return cfg.media;
      case 'liveshare':
        return { videoPublishType: cfg.liveshare_publish_type, statusCallback: 'liveStatusCallback' };
      default:
        return {};  // tsa and mission take an empty object
    }
  }

  function currentToken() {
    var tok = '';
    try { tok = Bridge.call('apiGetToken'); } catch (e) { tok = ''; }
    return tok || Api.token();
  }

  function load(name) {
    try {
      var params = paramsFor(name);
      state.params[name] = params;
      Bridge.loadComponent(name, params);
      delete state.failed[name];
      if (name === 'media') Bridge.call('mediaSetDownloadOwner', 0);
      if (name === 'api') Bridge.call('apiSetToken', params.token);
      return true;
    } catch (e) {
      state.failed[name] = e.message;
      say(e.message, 'error');
      return false;
    } finally {
      render();
    }
  }

  function unload(name) {
    safe(function () { Bridge.call('platformUnloadComponent', name); });
    render();
  }

  function isLoaded(name) {
    try { return Bridge.callBool('platformIsComponentLoaded', name); } catch (e) { return false; }
  }

  function moduleState(name) {
    if (state.failed[name]) return { text: t('home.failed'), cls: 'state-bad', title: state.failed[name] };
    if (!isLoaded(name)) return { text: t('home.notloaded'), cls: 'state-bad' };
    var connected = null;
    try {
      if (name === 'thing') connected = Bridge.callBool('thingGetConnectState');
      if (name === 'ws') connected = Bridge.callBool('wsGetConnectState');
    } catch (e) { connected = false; }
    if (connected === false) return { text: t('home.connecting'), cls: 'state-wait' };
    return { text: connected ? t('home.connected') : t('home.loaded'), cls: 'state-ok' };
  }

  function render() {
    renderStatus();
    renderHealth();
    var body = document.querySelector('#modules tbody');
    body.textContent = '';
    MODULES.forEach(function (name) {
      var st = moduleState(name);
      var tr = document.createElement('tr');
      tr.setAttribute('data-module', name);
      var tdName = document.createElement('td');
      tdName.textContent = t('mod.' + name);
      var tdState = document.createElement('td');
      tdState.textContent = st.text;
      tdState.className = 'module-state ' + st.cls;
      if (st.title) tdState.title = st.title;
      var tdAct = document.createElement('td');
      tdAct.className = 'actions';
      var bLoad = document.createElement('button');
      bLoad.className = 'small load';
      bLoad.textContent = t('home.load');
      bLoad.addEventListener('click', function () { load(name); });
      var bUnload = document.createElement('button');
      bUnload.className = 'small unload';
      bUnload.textContent = t('home.unload');
      bUnload.addEventListener('click', function () { unload(name); });
      tdAct.appendChild(bLoad);
      tdAct.appendChild(bUnload);
      tr.appendChild(tdName);
      tr.appendChild(tdState);
      tr.appendChild(tdAct);
      body.appendChild(tr);
    });
  }

  function renderHealth() {
    var list = document.getElementById('health');
    list.textContent = '';
    MODULES.forEach(function (name) {
      var st = moduleState(name);
      var li = document.createElement('li');
      li.setAttribute('data-module', name);
      li.setAttribute('data-state', st.cls.replace('state-', ''));
      li.title = t('mod.' + name) + ': ' + st.text + (st.title ? ' (' + st.title + ')' : '');
      var dot = document.createElement('span');
      dot.className = 'dot ' + (st.cls === 'state-ok' ? 'dot-ok' : st.cls === 'state-wait' ? 'dot-wait' : 'dot-bad');
      var label = document.createElement('span');
      label.className = 'name';
      label.textContent = t('chip.' + name);
      li.appendChild(dot);
      li.appendChild(label);
      list.appendChild(li);
    });
  }

  /* What the pilot reads first: where Pilot is connected, whether the RC is bound, and the
     one thing to do when something is not right. */
  function summary() {
    var host = location.host;
    if (state.apiError) {
      return { level: 'bad', text: t('home.status.unreachable', host), hint: t('home.hint.unreachable') };
    }
    if (!state.cfg || !state.workspace) return { level: 'wait', text: t('home.status.starting'), hint: '' };
    var ws = state.workspace;
    var station = ws.platform_name || ws.workspace_name || host;
    var thing = moduleState('thing');
    if (thing.cls !== 'state-ok') {
      return { level: thing.cls === 'state-bad' ? 'bad' : 'wait', text: t('home.status.thing', station, host), hint: t('home.hint.thing') };
    }
    if (!state.bound) {
      var why = state.binding && state.binding.key !== 'home.bind.wait' ? t(state.binding.key, state.binding.detail) : '';
      return { level: 'wait', text: t('home.status.unbound', station, host), hint: why || t('home.hint.unbound') };
    }
    var broken = MODULES.filter(function (n) { return moduleState(n).cls !== 'state-ok'; });
    if (broken.length) {
      return {
        level: 'wait',
        text: t('home.status.partial', station, host),
        hint: t('home.hint.modules', broken.map(function (n) { return t('mod.' + n); }).join(', '))
      };
    }
    return { level: 'ok', text: t('home.status.ok', station, host, ws.workspace_name), hint: '' };
  }

  function renderStatus() {
    if (state.binding) setText('binding', t(state.binding.key, state.binding.detail));
    renderLive();
    var s = summary();
    document.getElementById('status-dot').className = 'dot dot-' + s.level;
    var text = document.getElementById('status-text');
    text.removeAttribute('data-i18n');
    text.textContent = s.text;
    document.getElementById('status-card').setAttribute('data-level', s.level);
    var hint = document.getElementById('status-hint');
    hint.textContent = s.hint;
    hint.hidden = !s.hint;
  }

  function toggleDetails(open) {
    var details = document.getElementById('details');
    var show = open === undefined ? details.hidden : open;
    details.hidden = !show;
    var button = document.getElementById('details-toggle');
    button.setAttribute('aria-expanded', show ? 'true' : 'false');
    button.setAttribute('data-i18n', show ? 'home.details.hide' : 'home.details.show');
    button.textContent = t(show ? 'home.details.hide' : 'home.details.show');
  }

  /* -- Pilot callbacks (names given to the modules) ------------------------------------ */

  window.connectCallback = function (connected) {
    var ok = connected === true || connected === 'true';
    say(ok ? t('home.thing.connected') : t('home.thing.lost'), ok ? 'ok' : 'error');
    if (ok) afterThing();
    render();
  };

  window.wsConnectCallback = function (connected) {
    var ok = connected === true || connected === 'true';
    say(ok ? t('home.ws.connected') : t('home.ws.lost'), ok ? 'ok' : 'error');
    render();
  };

  window.liveStatusCallback = function (status) {
    var s = status;
    if (typeof s === 'string') { try { s = JSON.parse(s); } catch (e) { s = { status: status }; } }
    state.live = s;
    renderLive();
  };

  /* The share's status (liveshare status object, §10.2: 0 not connected, 1 connected, 2 live)
     and the one button that starts or stops it; the button waits for the station's URL. */
  function renderLive() {
    var button = document.getElementById('share');
    var live = state.live || {};
    var code = typeof live.status === 'number' ? live.status : -1;
    var word = code >= 0 && code <= 2 ? t('live.' + code) : (state.live ? String(code) : '');
    if (code === 2 && typeof live.fps === 'number') {
      word = t('live.detail', word, live.fps, typeof live.videoBitRate === 'number' ? live.videoBitRate : 0);
    }
    if (!state.share) word = word ? word + ' (' + t('live.unset') + ')' : t('live.unset');
    setText('live', word);
    var key = code === 2 ? 'home.share.stop' : 'home.share.start';
    button.setAttribute('data-i18n', key);
    button.textContent = t(key);
    button.disabled = !state.share;
  }

  /* Pilot's live share: the station issues this RC's RTMP URL (its own secret), and Pilot gets
     it with liveshareSetConfig(2 = RTMP in the JSBridge's numbering, '{"url": …}'). */
  async function setupShare() {
    if (!state.rcSn || !isLoaded('liveshare')) return;
    var data;
    try {
      data = await Api.post('/manage/api/v1/live/share', { rc_sn: state.rcSn });
    } catch (e) {
      if (e instanceof Api.ApiError && e.status === 401) return expired();
      return say(t('home.share.failed', e.message), 'error');
    }
    try {
      Bridge.call('liveshareSetConfig', data.liveshare_type, JSON.stringify({ url: data.url }));
      state.share = data;
      try { window.liveStatusCallback(Bridge.callJson('liveshareGetStatus')); } catch (e) { /* status comes by callback */ }
      say(t('home.share.ready'), 'ok');
    } catch (e) {
      say(e.message, 'error');
    }
    renderLive();
  }

  function toggleShare() {
    var live = state.live && state.live.status === 2;
    try {
      Bridge.call(live ? 'liveshareStopLive' : 'liveshareStartLive');
      say(t(live ? 'home.share.stopped' : 'home.share.starting'), 'ok');
    } catch (e) {
      say(e.message, 'error');
    }
    renderLive();
  }

  /* -- sequence ------------------------------------------------------------------------- */

  var afterThingDone = false;

  function afterThing() {
    if (afterThingDone) return;
    afterThingDone = true;
    // After a page reload Pilot still has the modules it loaded: load only what is missing.
    ['liveshare', 'ws', 'map', 'tsa', 'media', 'mission'].forEach(function (name) {
      if (!isLoaded(name)) load(name);
    });
    startBinding();
  }

  function startBinding() {
    if (state.bindTimer || state.bound) return;
    var attempt = async function () {
      if (!state.rcSn) {
        try { state.rcSn = Bridge.call('platformGetRemoteControllerSN') || ''; } catch (e) { state.rcSn = ''; }
        setText('rc-sn', state.rcSn);
        if (!state.rcSn) { bindingIs('home.rcmissing'); return; }
      }
      try {
        await Api.post('/manage/api/v1/devices/' + encodeURIComponent(state.rcSn) + '/binding', {
          device_sn: state.rcSn, user_id: state.user.user_id, workspace_id: state.workspace.workspace_id
        });
        state.bound = true;
        clearInterval(state.bindTimer);
        state.bindTimer = null;
        bindingIs('home.bind.ok');
        setupShare();
      } catch (e) {
        if (e instanceof Api.ApiError && e.status === 401) return expired();
        if (e.status === 404) bindingIs('home.bind.wait'); else bindingIs('home.bind.failed', e.message);
      }
    };
    state.bindTimer = setInterval(attempt, 2000);
    attempt();
  }

  /* Texts that follow the language are kept as keys and translated when shown. */
  function bindingIs(key, detail) {
    state.binding = { key: key, detail: detail };
    renderStatus();
  }

  function expired() {
    Api.setToken('');
    location.replace('index.html');
  }

  async function refreshToken() {
    try {
      var data = await Api.post('/manage/api/v1/token/refresh', {});
      Api.setToken(data.access_token);
      Bridge.call('apiSetToken', data.access_token);
    } catch (e) {
      if (e instanceof Api.ApiError && e.status === 401) expired();
    }
  }

  async function main() {
    I18n.apply();
    document.addEventListener('gcs-lang', function () {
      var box = document.getElementById('message');
      if (box && box.className.indexOf('error') < 0) Api.show('', 'info');  // said in the old language
      render();
    });
    document.getElementById('lang').addEventListener('click', I18n.toggle);
    if (!Api.token()) return expired();

    if (Bridge.available()) {
      window.djiBridge.onBackClick = function () {
        var dialog = document.getElementById('confirm');
        if (!dialog.hidden) { dialog.hidden = true; return true; }
        return false;  // Pilot closes the page
      };
      window.djiBridge.onStopPlatform = function () {
        try { localStorage.removeItem('gcs.token'); localStorage.removeItem('gcs.user'); } catch (e) { /* ignore */ }
      };
    }
    wireButtons();

    try {
      if (!Bridge.callBool('platformIsVerified')) { location.replace('index.html'); return; }
    } catch (e) {
      say(e.message, 'error');
      return;
    }

    try {
      state.rcSn = Bridge.call('platformGetRemoteControllerSN') || '';
      state.aircraftSn = Bridge.call('platformGetAircraftSN') || '';
    } catch (e) {
      say(e.message, 'error');
    }
    setText('rc-sn', state.rcSn);
    setText('aircraft-sn', state.aircraftSn);

    try {
      state.cfg = await Api.config();
      state.workspace = await Api.get('/manage/api/v1/workspaces/current');
      state.user = await Api.get('/manage/api/v1/users/current');
    } catch (e) {
      if (e instanceof Api.ApiError && e.status === 401) return expired();
      state.apiError = e.message;
      renderStatus();
      say(e.message, 'error');
      return;
    }
    var ws = state.workspace;
    setText('workspace', ws.workspace_name);
    setText('user', state.user.username);
    safe(function () { Bridge.call('platformSetWorkspaceId', ws.workspace_id); });
    safe(function () { Bridge.call('platformSetInformation', ws.platform_name, ws.workspace_name, ws.workspace_desc); });
    safe(function () { setText('log-path', Bridge.call('platformGetLogPath')); });

    var thingUp = false;
    try { thingUp = isLoaded('thing') && Bridge.callBool('thingGetConnectState'); } catch (e) { thingUp = false; }
    if (thingUp) {
      afterThing();  // the page was reloaded while Pilot stayed connected
      if (isLoaded('liveshare')) {
        try { window.liveStatusCallback(Bridge.callJson('liveshareGetStatus')); } catch (e) { say(e.message, 'error'); }
      }
    } else {
      load('thing');
    }
    render();
    setInterval(render, 3000);
    setInterval(refreshToken, 30 * 60 * 1000);
  }

  function wireButtons() {
    document.getElementById('third-party').addEventListener('click', openThirdParty);
    document.getElementById('share').addEventListener('click', toggleShare);
    document.getElementById('details-toggle').addEventListener('click', function () { toggleDetails(); });
    document.getElementById('log-key-set').addEventListener('click', function () {
      var key = document.getElementById('log-key').value.trim();
      if (!key) return say(t('home.logkey.empty'), 'error');
      try { Bridge.call('platformSetLogEncryptKey', key); say(t('home.logkey.done'), 'ok'); } catch (e) { say(e.message, 'error'); }
    });
    document.getElementById('log-key-clear').addEventListener('click', function () {
      try { Bridge.call('platformClearLogEncryptKey'); say(t('home.logkey.cleared'), 'ok'); } catch (e) { say(e.message, 'error'); }
    });
    document.getElementById('logout').addEventListener('click', function () {
      document.getElementById('confirm').hidden = false;
    });
    document.getElementById('confirm-cancel').addEventListener('click', function () {
      document.getElementById('confirm').hidden = true;
    });
    document.getElementById('confirm-ok').addEventListener('click', logout);
  }

  function openThirdParty() {
    var cfg = state.cfg || {};
    var pkg = cfg.third_party_app_package, url = cfg.third_party_app_url;
    if (!pkg && !url) return say(t('home.thirdparty.none'), 'error');
    try {
      if (pkg && !Bridge.callBool('platformIsAppInstalled', pkg)) {
        return say(t('home.thirdparty.missing', pkg), 'error');
      }
    } catch (e) { return say(e.message, 'error'); }
    window.open(url || ('intent://#Intent;package=' + pkg + ';end'), '_blank');
  }

  function logout() {
    document.getElementById('confirm').hidden = true;
    if (state.bindTimer) clearInterval(state.bindTimer);
    try { localStorage.removeItem('gcs.token'); localStorage.removeItem('gcs.user'); } catch (e) { /* ignore */ }
    safe(function () { Bridge.call('platformStopSelf'); });
  }

  window.addEventListener('DOMContentLoaded', main);
})();
