/* A stand-in for Pilot 2's window.djiBridge: records every call in sessionStorage (so the record
   survives page changes, as Pilot's module state does) and answers as Pilot does, with JSON
   strings {code, message, data}. Settings come from window.__STANDIN__ (prepended by the test). */
(function () {
  var cfg = window.__STANDIN__;
  var S = sessionStorage;
  function get(key, dflt) { var v = S.getItem('standin.' + key); return v === null ? dflt : JSON.parse(v); }
  function put(key, value) { S.setItem('standin.' + key, JSON.stringify(value)); }
  function record(fn, args) {
    var calls = get('calls', []);
    calls.push({ fn: fn, args: Array.prototype.slice.call(args), page: location.pathname + location.search });
    put('calls', calls);
  }
  function answer(data) { return JSON.stringify({ code: 0, message: 'success', data: data }); }
  function fail(message) { return JSON.stringify({ code: 1, message: message, data: '' }); }
  var UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

  var impl = {
    platformVerifyLicense: function (id, key, lic) {
      if (location.search.indexOf('reject') >= 0) { put('verified', false); return fail('license verify failed: app license is invalid'); }
      var ok = id === cfg.appId && key === cfg.appKey && lic === cfg.license;
      put('verified', ok);
      return ok ? answer(true) : fail('license verify failed');
    },
    platformIsVerified: function () { return answer(get('verified', false)); },
    platformSetInformation: function () { return answer(true); },
    platformSetWorkspaceId: function (id) { return UUID.test(id) ? answer('') : fail('workspace id must be a UUID'); },
    platformGetRemoteControllerSN: function () { return answer(cfg.rcSn); },
    platformGetAircraftSN: function () { return answer(cfg.aircraftSn); },
    platformGetVersion: function () { return answer({ modelVersion: '1.1.2', appVersion: '10.1.0.20' }); },
    platformLoadComponent: function (name, json) {
      var params;
      try { params = JSON.parse(json); } catch (e) { return fail('params of ' + name + ' are not JSON'); }
      if (name === 'mission' && get('failMission', false)) return fail('mission module unavailable');
      var loaded = get('loaded', {});
      loaded[name] = params;
      put('loaded', loaded);
      if (name === 'api') put('token', params.token);
      if (name === 'thing' || name === 'ws') {
        put(name + 'Connected', true);
        setTimeout(function () { window[params.connectCallback](true); }, 30);
      }
      if (name === 'liveshare') {
        setTimeout(function () { window[params.statusCallback](JSON.stringify({ type: 2, status: 1, fps: 30 })); }, 30);
      }
      return answer('');
    },
    platformUnloadComponent: function (name) {
      var loaded = get('loaded', {}); delete loaded[name]; put('loaded', loaded); return answer('');
    },
    platformIsComponentLoaded: function (name) { return answer(!!get('loaded', {})[name]); },
    platformIsAppInstalled: function (pkg) { return answer(pkg === cfg.installedApp); },
    platformStopSelf: function () { put('stopped', true); return answer(''); },
    platformGetLogPath: function () { return answer('/storage/emulated/0/DJI/com.dji.industry.pilot/LOG'); },
    platformSetLogEncryptKey: function () { return answer(''); },
    platformClearLogEncryptKey: function () { return answer(''); },
    thingGetConnectState: function () { return answer(!!get('loaded', {}).thing && get('thingConnected', false)); },
    thingGetConfigs: function () { return answer(JSON.stringify(get('loaded', {}).thing || {})); },
    wsGetConnectState: function () { return answer(!!get('loaded', {}).ws && get('wsConnected', false)); },
    apiGetToken: function () { return answer(get('token', '')); },
    apiSetToken: function (token) { put('token', token); return answer(''); },
    apiGetHost: function () { return answer((get('loaded', {}).api || {}).host || ''); },
    mediaSetDownloadOwner: function () { return answer(''); },
    liveshareGetStatus: function () { return answer(JSON.stringify(get('liveStatus', { type: 2, status: 1 }))); },
    /* liveshareSetConfig(type: int, paramsJson: string), as DJI documents it: anything else fails */
    liveshareSetConfig: function (type, json) {
      if (typeof type !== 'number' || typeof json !== 'string') return fail('liveshareSetConfig(int, string) expected');
      var params;
      try { params = JSON.parse(json); } catch (e) { return fail('params are not JSON'); }
      put('liveConfig', { type: type, params: params });
      return answer('');
    },
    liveshareGetConfig: function () { return answer(JSON.stringify(get('liveConfig', {}))); },
    liveshareStartLive: function () {
      var config = get('liveConfig', null);
      if (!config || !config.params || !config.params.url) return fail('live share is not configured');
      return liveStatus({ type: config.type, status: 2, fps: 30, videoBitRate: 1500, audioBitRate: 0, rtt: 8, quality: 2, jitter: 0, dropRate: 0 });
    },
    liveshareStopLive: function () { return liveStatus({ type: 2, status: 1 }); }
  };
  function liveStatus(status) {
    put('liveStatus', status);
    var params = get('loaded', {}).liveshare || {};
    setTimeout(function () { if (params.statusCallback) window[params.statusCallback](JSON.stringify(status)); }, 30);
    return answer('');
  }
  var bridge = {};
  Object.keys(impl).forEach(function (fn) {
    bridge[fn] = function () { record(fn, arguments); return impl[fn].apply(null, arguments); };
  });
  window.djiBridge = bridge;
  window.open = function (url) { record('window.open', [url]); return null; };
})();
