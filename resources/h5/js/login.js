/* Login page: licence first, then a saved session or the login form, then the api module. */
(function () {
  'use strict';
  var t = window.I18n.t;
  var verified = false;
  var busy = false;

  function setLicence(text, kind) {
    var el = document.getElementById('licence');
    el.textContent = text;
    el.className = 'status ' + kind;
  }

  function verifyLicence(cfg) {
    if (!cfg.licence_configured) {
      setLicence(t('licence.missing'), 'error');
      return false;
    }
    try {
      var ok = Bridge.callBool('platformVerifyLicense', cfg.app_id, cfg.app_key, cfg.app_license) &&
        Bridge.callBool('platformIsVerified');
      if (!ok) {
        setLicence(t('licence.failed', 'false'), 'error');
        return false;
      }
    } catch (e) {
      setLicence(e.fn === 'platformVerifyLicense' || e.fn === 'platformIsVerified'
        ? t('licence.failed', e.detail) : e.message, 'error');
      return false;
    }
    setLicence(t('licence.ok'), 'ok');
    return true;
  }

  /* Hand the token to Pilot's api module; Pilot then calls the station by itself. */
  function loadApi(token) {
    Bridge.loadComponent('api', { host: Api.apiHost(), token: token });
    Bridge.call('apiSetToken', token);
  }

  function remember(data) {
    Api.setToken(data.access_token);
    localStorage.setItem('gcs.user', JSON.stringify({
      user_id: data.user_id, username: data.username, workspace_id: data.workspace_id
    }));
  }

  function goHome() {
    location.replace('home.html');
  }

  async function resume() {
    Api.show(t('login.resume'), 'info');
    try {
      var data = await Api.post('/manage/api/v1/token/refresh', {});
      remember(data);
      loadApi(data.access_token);
      goHome();
      return true;
    } catch (e) {
      if (e instanceof Api.ApiError && e.status === 401) {
        Api.setToken('');
        Api.show(t('login.expired'), 'info');
      } else {
        Api.show(e.message, 'error');
      }
      return false;
    }
  }

  async function submit(ev) {
    ev.preventDefault();
    if (!verified || busy) return;
    busy = true;
    var button = document.getElementById('submit');
    button.disabled = true;
    Api.show(t('login.busy'), 'info');
    try {
      var data = await Api.post('/manage/api/v1/login', {
        username: document.getElementById('username').value.trim(),
        password: document.getElementById('password').value,
        flag: 2
      });
      remember(data);
      loadApi(data.access_token);
      Api.show(t('login.ok'), 'ok');
      goHome();
    } catch (e) {
      Api.show(t('login.failed', e.message), 'error');
    } finally {
      busy = false;
      button.disabled = !verified;
    }
  }

  async function main() {
    I18n.apply();
    document.getElementById('lang').addEventListener('click', I18n.toggle);
    document.getElementById('login-form').addEventListener('submit', submit);
    var cfg;
    try {
      cfg = await Api.config();
    } catch (e) {
      setLicence(e.message, 'error');
      return;
    }
    verified = verifyLicence(cfg);
    if (!verified) return;
    try {
      Bridge.call('platformSetInformation', cfg.platform_name, cfg.workspace_name, cfg.workspace_desc);
    } catch (e) {
      Api.show(e.message, 'error');
    }
    document.getElementById('submit').disabled = false;
    if (Api.token()) await resume();
  }

  window.addEventListener('DOMContentLoaded', main);
})();
