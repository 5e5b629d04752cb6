/* window.djiBridge, parsed as DJI documents it: every call returns a JSON string
   {code, message, data}; code 0 is success, anything else a failure whose message is shown. */
(function () {
  'use strict';
  var t = window.I18n.t;

  /* `message` is the sentence for the pilot; `detail` what Pilot itself said, if anything. */
  function BridgeError(fn, message, detail) {
    this.name = 'BridgeError';
    this.fn = fn;
    this.message = message;
    this.detail = detail || message;
  }
  BridgeError.prototype = Object.create(Error.prototype);
  BridgeError.prototype.constructor = BridgeError;

  function available() {
    return typeof window.djiBridge === 'object' && window.djiBridge !== null;
  }

  function parse(fn, raw) {
    var res = raw;
    if (typeof raw === 'string') {
      try { res = JSON.parse(raw); } catch (e) { throw new BridgeError(fn, t('bridge.badanswer', fn)); }
    }
    if (res === null || typeof res !== 'object' || typeof res.code !== 'number') {
      throw new BridgeError(fn, t('bridge.badanswer', fn));
    }
    if (res.code !== 0) {
      var said = res.message || ('code ' + res.code);
      throw new BridgeError(fn, t('bridge.failed', fn, said), said);
    }
    return res.data;
  }

  /* Call djiBridge[fn](...args); returns `data` or throws BridgeError with words for the pilot. */
  function call(fn) {
    if (!available()) throw new BridgeError(fn, t('bridge.missing'));
    var f = window.djiBridge[fn];
    if (typeof f !== 'function') throw new BridgeError(fn, t('bridge.nofn', fn));
    var args = Array.prototype.slice.call(arguments, 1);
    var raw;
    try {
      raw = f.apply(window.djiBridge, args);
    } catch (e) {
      throw new BridgeError(fn, t('bridge.failed', fn, e && e.message ? e.message : String(e)));
    }
    return parse(fn, raw);
  }

  /* Boolean answers: data true/"true"; an empty data object with code 0 counts as success. */
  function callBool() {
    var data = call.apply(null, arguments);
    if (data === true || data === 'true' || data === 1) return true;
    if (data !== null && typeof data === 'object' && Object.keys(data).length === 0) return true;
    return false;
  }

  /* Getters whose data is itself a JSON string (thingGetConfigs, liveshareGetStatus). */
  function callJson() {
    var data = call.apply(null, arguments);
    if (typeof data !== 'string') return data;
    try { return JSON.parse(data); } catch (e) { throw new BridgeError(arguments[0], t('bridge.badanswer', arguments[0])); }
  }

  function loadComponent(name, params) {
    return call('platformLoadComponent', name, JSON.stringify(params));
  }

  window.Bridge = {
    BridgeError: BridgeError,
    available: available,
    call: call,
    callBool: callBool,
    callJson: callJson,
    loadComponent: loadComponent
  };
})();
