/* Texts of the Pilot pages in English and Chinese; language from the switch, else the device. */
(function () {
  'use strict';
  var TEXT = {
    en: {
      'app.title': 'Offline Cloud for DJI Pilot 2',
      'lang.switch': '中文',
      'login.username': 'User name',
      'login.password': 'Password',
      'login.submit': 'Log in',
      'login.busy': 'Logging in…',
      'login.ok': 'Logged in.',
      'login.failed': 'Login failed: {0}',
      'login.resume': 'Resuming your session…',
      'login.expired': 'Your session has ended. Please log in again.',
      'login.ca': 'Download the station certificate (for HTTPS)',
      'licence.checking': 'Verifying the DJI licence…',
      'licence.ok': 'DJI licence verified.',
      'licence.failed': 'Pilot refused the DJI licence: {0}. Check the app ID, app key and licence in the station settings ([dji] in gcs.toml) — they must belong to a Cloud API app on developer.dji.com.',
      'licence.missing': 'The station has no DJI licence yet. Enter the app ID, app key and licence of your Cloud API app in the station settings ([dji] in gcs.toml), then reopen this page.',
      'bridge.missing': 'This page must be opened inside DJI Pilot 2 (Cloud Service → Other platforms); the Pilot bridge is not available here.',
      'bridge.nofn': 'This version of DJI Pilot 2 does not offer {0}.',
      'bridge.badanswer': 'DJI Pilot 2 gave an answer this page cannot read for {0}.',
      'bridge.failed': 'DJI Pilot 2 reported an error for {0}: {1}',
      'net.failed': 'The station at {0} cannot be reached: {1}. Check the Wi-Fi and that the station is running.',
      'home.workspace': 'Workspace',
      'home.user': 'User',
      'home.rc_sn': 'Remote controller SN',
      'home.aircraft_sn': 'Aircraft SN',
      'home.none': '—',
      'home.binding': 'Binding to the workspace',
      'home.bind.wait': 'Waiting for the remote controller to connect…',
      'home.bind.ok': 'RC and aircraft are bound to the workspace.',
      'home.bind.failed': 'Binding failed: {0}',
      'home.modules': 'Modules',
      'home.module': 'Module',
      'home.state': 'State',
      'home.load': 'Load',
      'home.unload': 'Unload',
      'home.loaded': 'loaded',
      'home.connected': 'connected',
      'home.connecting': 'connecting…',
      'home.notloaded': 'not loaded',
      'home.failed': 'failed',
      'home.thirdparty': 'Open third-party app',
      'home.thirdparty.none': 'No third-party app is configured (station settings [pilot] third_party_app_package / third_party_app_url).',
      'home.thirdparty.missing': 'The app {0} is not installed on this remote controller.',
      'home.logs': 'Pilot logs',
      'home.logpath': 'Log folder',
      'home.logkey': 'Public key for log encryption',
      'home.logkey.set': 'Set key',
      'home.logkey.clear': 'Clear key',
      'home.logkey.done': 'Log encryption key set.',
      'home.logkey.cleared': 'Log encryption key cleared (existing logs stay as they are).',
      'home.logkey.empty': 'Paste a public key first.',
      'home.logout': 'Log out',
      'home.logout.confirm': 'After logging out, Pilot stops exchanging data with this station. Log out?',
      'home.cancel': 'Cancel',
      'home.live': 'Livestream',
      'home.live.status': 'Live status: {0}',
      'live.0': 'not connected',
      'live.1': 'connected',
      'live.2': 'live',
      'live.detail': '{0} · {1} fps · {2} kbps',
      'live.unset': 'share not set up',
      'home.share.start': 'Start live share',
      'home.share.stop': 'Stop live share',
      'home.share.ready': 'Live share set up: start it here or from Pilot\'s camera view.',
      'home.share.starting': 'Starting the live share…',
      'home.share.stopped': 'Live share stopped.',
      'home.share.failed': 'The station could not set up the live share: {0}',
      'home.ws.connected': 'WebSocket connected.',
      'home.ws.lost': 'WebSocket disconnected; Pilot will retry.',
      'home.thing.connected': 'Connected to the station\'s MQTT broker.',
      'home.thing.lost': 'Not connected to the station\'s MQTT broker; check the network.',
      'home.rcmissing': 'The remote controller serial is not available. Restart the remote controller.',
      'mod.thing': 'Cloud (thing)',
      'mod.api': 'HTTP API',
      'mod.ws': 'WebSocket',
      'mod.map': 'Map elements',
      'mod.tsa': 'Situational awareness',
      'mod.media': 'Media upload',
      'mod.mission': 'Waylines',
      'mod.liveshare': 'Livestream',
      'chip.thing': 'Cloud',
      'chip.api': 'API',
      'chip.ws': 'WebSocket',
      'chip.map': 'Map',
      'chip.tsa': 'Awareness',
      'chip.media': 'Media',
      'chip.mission': 'Waylines',
      'chip.liveshare': 'Live',
      'home.status.starting': 'Connecting to the station…',
      'home.status.unreachable': 'Not connected: the station at {0} does not answer',
      'home.hint.unreachable': 'Check that this remote controller is on the station\'s Wi-Fi or LAN and that the station is running, then reopen this page.',
      'home.status.thing': 'Connecting to {0} ({1})…',
      'home.hint.thing': 'Pilot\'s cloud link to the station is not up yet. Check the network; if it stays like this, open “Details for support” and load Cloud again, or log out and log in.',
      'home.status.unbound': 'Connected to {0} ({1}) · this remote controller is not bound yet',
      'home.hint.unbound': 'Keep the remote controller on and linked to its aircraft: binding is retried every few seconds.',
      'home.status.partial': 'Connected to {0} ({1}) · bound · some modules are not working',
      'home.hint.modules': 'Not working: {0}. Open “Details for support” and load them again.',
      'home.status.ok': 'Connected to {0} ({1}) · bound to “{2}”',
      'home.details.show': 'Details for support ▾',
      'home.details.hide': 'Hide details ▴'
    },
    zh: {
      'app.title': 'DJI Pilot 2 离线云平台',
      'lang.switch': 'English',
      'login.username': '用户名',
      'login.password': '密码',
      'login.submit': '登录',
      'login.busy': '正在登录…',
      'login.ok': '登录成功。',
      'login.failed': '登录失败：{0}',
      'login.resume': '正在恢复会话…',
      'login.expired': '会话已结束，请重新登录。',
      'login.ca': '下载本站证书（用于 HTTPS）',
      'licence.checking': '正在校验 DJI 许可证…',
      'licence.ok': 'DJI 许可证校验成功。',
      'licence.failed': 'Pilot 拒绝了 DJI 许可证：{0}。请检查本站设置（gcs.toml 的 [dji]）中的 App ID、App Key 和 License，它们必须属于 developer.dji.com 上的一个 Cloud API 应用。',
      'licence.missing': '本站尚未配置 DJI 许可证。请在本站设置（gcs.toml 的 [dji]）中填写 Cloud API 应用的 App ID、App Key 和 License，然后重新打开本页。',
      'bridge.missing': '本页面必须在 DJI Pilot 2 中打开（云服务 → 其他平台）；此处无法使用 Pilot 接口。',
      'bridge.nofn': '此版本的 DJI Pilot 2 不提供 {0}。',
      'bridge.badanswer': 'DJI Pilot 2 对 {0} 的应答无法解析。',
      'bridge.failed': 'DJI Pilot 2 执行 {0} 时报错：{1}',
      'net.failed': '无法连接本站 {0}：{1}。请检查 Wi-Fi 并确认本站正在运行。',
      'home.workspace': '工作空间',
      'home.user': '用户',
      'home.rc_sn': '遥控器序列号',
      'home.aircraft_sn': '飞行器序列号',
      'home.none': '—',
      'home.binding': '绑定到工作空间',
      'home.bind.wait': '正在等待遥控器连接…',
      'home.bind.ok': '遥控器和飞行器已绑定到工作空间。',
      'home.bind.failed': '绑定失败：{0}',
      'home.modules': '模块',
      'home.module': '模块',
      'home.state': '状态',
      'home.load': '加载',
      'home.unload': '卸载',
      'home.loaded': '已加载',
      'home.connected': '已连接',
      'home.connecting': '连接中…',
      'home.notloaded': '未加载',
      'home.failed': '失败',
      'home.thirdparty': '打开第三方应用',
      'home.thirdparty.none': '未配置第三方应用（本站设置 [pilot] third_party_app_package / third_party_app_url）。',
      'home.thirdparty.missing': '本遥控器未安装应用 {0}。',
      'home.logs': 'Pilot 日志',
      'home.logpath': '日志目录',
      'home.logkey': '日志加密公钥',
      'home.logkey.set': '设置密钥',
      'home.logkey.clear': '清除密钥',
      'home.logkey.done': '已设置日志加密密钥。',
      'home.logkey.cleared': '已清除日志加密密钥（已有日志保持不变）。',
      'home.logkey.empty': '请先粘贴公钥。',
      'home.logout': '退出登录',
      'home.logout.confirm': '退出后，Pilot 将不再与本站同步数据。确定退出？',
      'home.cancel': '取消',
      'home.live': '直播',
      'home.live.status': '直播状态：{0}',
      'live.0': '未连接',
      'live.1': '已连接',
      'live.2': '直播中',
      'live.detail': '{0} · {1} 帧/秒 · {2} kbps',
      'live.unset': '未设置直播分享',
      'home.share.start': '开始直播分享',
      'home.share.stop': '停止直播分享',
      'home.share.ready': '直播分享已设置：可在此处或 Pilot 相机界面开始。',
      'home.share.starting': '正在开始直播分享…',
      'home.share.stopped': '直播分享已停止。',
      'home.share.failed': '地面站无法设置直播分享：{0}',
      'home.ws.connected': 'WebSocket 已连接。',
      'home.ws.lost': 'WebSocket 已断开，Pilot 将重试。',
      'home.thing.connected': '已连接本站 MQTT 服务器。',
      'home.thing.lost': '未连接本站 MQTT 服务器，请检查网络。',
      'home.rcmissing': '无法获取遥控器序列号，请重启遥控器。',
      'mod.thing': '云连接 (thing)',
      'mod.api': 'HTTP 接口',
      'mod.ws': 'WebSocket',
      'mod.map': '地图标注',
      'mod.tsa': '态势感知',
      'mod.media': '媒体上传',
      'mod.mission': '航线',
      'mod.liveshare': '直播',
      'chip.thing': '云连接',
      'chip.api': '接口',
      'chip.ws': 'WebSocket',
      'chip.map': '地图',
      'chip.tsa': '态势感知',
      'chip.media': '媒体',
      'chip.mission': '航线',
      'chip.liveshare': '直播',
      'home.status.starting': '正在连接本站…',
      'home.status.unreachable': '未连接：本站 {0} 没有响应',
      'home.hint.unreachable': '请确认本遥控器已连接本站所在的 Wi-Fi 或局域网，且本站正在运行，然后重新打开本页。',
      'home.status.thing': '正在连接 {0}（{1}）…',
      'home.hint.thing': 'Pilot 与本站的云连接尚未建立。请检查网络；如果一直如此，请打开“技术支持详情”重新加载云连接，或退出后重新登录。',
      'home.status.unbound': '已连接 {0}（{1}）· 本遥控器尚未绑定',
      'home.hint.unbound': '请保持遥控器开机并与飞行器对频：系统每隔几秒会自动重试绑定。',
      'home.status.partial': '已连接 {0}（{1}）· 已绑定 · 部分模块异常',
      'home.hint.modules': '异常模块：{0}。请打开“技术支持详情”重新加载。',
      'home.status.ok': '已连接 {0}（{1}）· 已绑定到“{2}”',
      'home.details.show': '技术支持详情 ▾',
      'home.details.hide': '收起详情 ▴'
    }
  };
  var KEY = 'gcs.lang';

  function detect() {
    var saved = null;
    try { saved = localStorage.getItem(KEY); } catch (e) { saved = null; }
    if (saved === 'en' || saved === 'zh') return saved;
    var nav = (navigator.language || 'en').toLowerCase();
    return nav.indexOf('zh') === 0 ? 'zh' : 'en';
  }

  var lang = detect();

  function t(key) {
    var table = TEXT[lang] || TEXT.en;
    var text = table[key] !== undefined ? table[key] : (TEXT.en[key] !== undefined ? TEXT.en[key] : key);
    var args = Array.prototype.slice.call(arguments, 1);
    return text.replace(/\{(\d+)\}/g, function (m, i) {
      return args[+i] !== undefined ? String(args[+i]) : m;
    });
  }

  function apply(root) {
    var nodes = (root || document).querySelectorAll('[data-i18n]');
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].textContent = t(nodes[i].getAttribute('data-i18n'));
    }
    var holders = (root || document).querySelectorAll('[data-i18n-placeholder]');
    for (var j = 0; j < holders.length; j++) {
      holders[j].setAttribute('placeholder', t(holders[j].getAttribute('data-i18n-placeholder')));
    }
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  }

  function setLang(value) {
    lang = value === 'zh' ? 'zh' : 'en';
    try { localStorage.setItem(KEY, lang); } catch (e) { /* private mode */ }
    apply();
    document.dispatchEvent(new Event('gcs-lang'));
  }

  window.I18n = {
    t: t,
    apply: apply,
    lang: function () { return lang; },
    toggle: function () { setLang(lang === 'zh' ? 'en' : 'zh'); },
    setLang: setLang
  };
})();
