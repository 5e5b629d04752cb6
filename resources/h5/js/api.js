/* The station's HTTP API ({code, message, data}; token in x-auth-token) and page helpers. */
(function () {
  'use strict';
  var t = window.I18n.t;
  var TOKEN = 'gcs.token';

  function ApiError(status, message) {
    this.name = 'ApiError';
    this.status = status;
    this.message = message;
  }
  ApiError.prototype = Object.create(Error.prototype);
  ApiError.prototype.constructor = ApiError;

  function token() {
    try { return localStorage.getItem(TOKEN) || ''; } catch (e) { return ''; }
  }

  function setToken(value) {
    try {
      if (value) localStorage.setItem(TOKEN, value); else localStorage.removeItem(TOKEN);
    } catch (e) { /* storage unavailable */ }
  }

  async function request(method, path, body) {
    var headers = { 'Content-Type': 'application/json' };
    var tok = token();
    if (tok) headers['x-auth-token'] = tok;
    var res;
    try {
      res = await fetch(path, {
        method: method,
        headers: headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store'
      });
    } catch (e) {
      throw new ApiError(0, t('net.failed', location.host, e && e.message ? e.message : String(e)));
    }
    var doc = null;
    try { doc = await res.json(); } catch (e) { doc = null; }
    if (!res.ok || !doc || doc.code !== 0) {
      var msg = doc && doc.message ? doc.message : ('HTTP ' + res.status);
      throw new ApiError(res.status, msg);
    }
    return doc.data;
  }

  function show(message, kind) {
    var box = document.getElementById('message');
    if (!box) return;
    box.textContent = message;
    box.className = 'message ' + (kind || 'info');
    box.hidden = !message;
  }

  function apiHost() {
    return location.origin + '/';
  }

  // The page footer shows the station's version (from /pilot/config.json).
  function showVersion(cfg) {
    var el = document.getElementById('version');
    if (el && cfg && cfg.version) {
      el.textContent = 'GCS ' + cfg.version;
      el.hidden = false;
    }
    return cfg;
  }

  function wsUrl(path) {
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path;
  }

  window.Api = {
    ApiError: ApiError,
    token: token,
    setToken: setToken,
    request: request,
    get: function (path) { return request('GET', path); },
    post: function (path, body) { return request('POST', path, body === undefined ? {} : body); },
    config: function () { return request('GET', '/pilot/config.json').then(showVersion); },
    show: show,
    apiHost: apiHost,
    wsUrl: wsUrl
  };
})();
