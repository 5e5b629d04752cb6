"""English/Chinese texts of the desktop UI.

Widgets write English source text through `tr("...")` and re-label themselves in a
`retranslate()` slot connected to `i18n.language_changed`. Chinese texts live in `ZH`
catalogues: this module's own, plus those panel modules register with `register(zh_dict)`.
A text without a Chinese entry shows in English (never an empty label).

`install_qt_translator()` also makes Qt's own dialogs (QMessageBox buttons, QFileDialog...)
follow the language, with the qtbase catalogue that ships with PySide6.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QCoreApplication,
    QLibraryInfo,
    QLocale,
    QObject,
    QTranslator,
    Signal,
)

from gcs.station import ports

__all__ = [
    "LANGUAGES",
    "ZH",
    "I18n",
    "i18n",
    "install_qt_translator",
    "language",
    "register",
    "set_language",
    "system_language",
    "tr",
]

LANGUAGES = {"en": "English", "zh": "中文"}

ZH: dict[str, str] = {}
_catalogue: dict[str, str] = {}


def register(zh: dict[str, str]) -> None:
    """Add Chinese texts (English source text → Chinese) to the catalogue."""
    _catalogue.update(zh)


def system_language() -> str:
    """Return "zh" when the system locale is Chinese, else "en"."""
    return "zh" if QLocale.system().language() == QLocale.Language.Chinese else "en"


class I18n(QObject):
    """Holds the current language; `language_changed(lang)` fires on a real change."""

    language_changed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.lang = "en"

    def set_language(self, lang: str) -> None:
        """Switch to "en" or "zh" (any "zh-..." tag counts as Chinese; others as English)."""
        lang = "zh" if lang.lower().startswith("zh") else "en"
        if lang != self.lang:
            self.lang = lang
            _reload_qt_translator()
            self.language_changed.emit(lang)

    def text(self, text: str) -> str:
        """`text` (English source) in the current language."""
        if self.lang == "zh":
            return _catalogue.get(text, text)
        return text


i18n = I18n()


def tr(text: str) -> str:
    """`text` (English source) in the current language."""
    return i18n.text(text)


def set_language(lang: str) -> None:
    """Switch the UI language ("en" or "zh"); widgets re-label on `language_changed`."""
    i18n.set_language(lang)


def language() -> str:
    """The current language, "en" or "zh"."""
    return i18n.lang


_translators: list[QTranslator] = []
_installed: list[bool] = []


def _reload_qt_translator() -> None:
    """Install Qt's own Chinese catalogue (qtbase) when Chinese is on; remove it otherwise."""
    if QCoreApplication.instance() is None or not _installed:
        return
    while _translators:
        QCoreApplication.removeTranslator(_translators.pop())
    if i18n.lang == "zh":
        qt = QTranslator()
        path = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        if qt.load("qtbase_zh_CN", path):
            QCoreApplication.installTranslator(qt)
            _translators.append(qt)


def install_qt_translator() -> None:
    """Let Qt's own dialogs (buttons of QMessageBox, QFileDialog...) follow the language.

    Call once after the QApplication exists.
    """
    _installed.append(True)
    _reload_qt_translator()


ZH.update(
    {
        # -- window, menus, toolbar --
        "GCS Station": "GCS 地面站",
        # -- live video (issue 12) --
        "Live video": "实时视频",
        "Lens": "镜头",
        "Video quality": "清晰度",
        "&File": "文件(&F)",
        "&View": "视图(&V)",
        "&Station": "站点(&S)",
        "&Help": "帮助(&H)",
        "Settings…": "设置…",
        "Connection wizard…": "连接向导…",
        "Quit": "退出",
        "Panels": "面板",
        "Language": "语言",
        "Follow system": "跟随系统",
        "Reset layout": "重置布局",
        "About": "关于",
        "GCS — an offline DJI Cloud API station": "GCS —— 离线 DJI 上云 API 地面站",
        "Version {version}": "版本 {version}",
        "The station could not start: {detail}": "地面站无法启动：{detail}",
        # gcs.station.ports (a taken port at start)
        ports.ADVICE_KNOWN: (
            "端口 {port}（{service}）已被其他程序占用"
            "（另一个 GCS 地面站、MQTT 代理或网页服务器？）。"
            "请关闭该程序，或换一个端口：{path} 中的 {setting}，"
            "或用 {option} PORT 启动。已按旧端口配置的设备需要改用新端口。"
        ),
        ports.ADVICE_PORT: (
            "端口 {port} 已被其他程序占用（另一个 GCS 地面站？）。"
            "请关闭该程序，或在 {path} 中修改端口"
            "（[mqtt] port、[http] port/https_port、[storage] port）后重新启动。"
        ),
        ports.ADVICE_ANY: (
            "地面站需要的某个端口已被其他程序占用（另一个 GCS 地面站？）。"
            "请关闭该程序，或在 {path} 中修改端口"
            "（[mqtt] port、[http] port/https_port、[storage] port）后重新启动。"
        ),
        "MQTT broker": "MQTT 代理",
        "HTTP (Pilot web, API)": "HTTP（Pilot 网页与接口）",
        "S3 object store": "S3 对象存储",
        "Data folder: {path}": "数据文件夹：{path}",
        "Main toolbar": "主工具栏",
        "Fleet": "机队",
        "Dock": "机场",
        "Aircraft": "飞行器",
        "Events": "事件",
        "Commands": "指令",
        # -- wizard: per-dock logins --
        "Dock serial number": "机场序列号",
        "Own login for this dock": "为此机场生成专属账号",
        "Empty: the shared login above, for any new dock.": (
            "留空：使用上面的共享账号，适用于任何新机场。"
        ),
        "Dock serial": "机场序列号",
        "Login of dock {sn} only: type it in that dock's wizard.": (
            "仅限机场 {sn} 的账号：请在该机场的配置向导中填写。"
        ),
        "Alarms": "告警",
        "Control": "控制",
        # -- dock control --
        "Debug mode": "调试模式",
        "Debug mode on": "开启调试",
        "Debug mode off": "关闭调试",
        "Open cover": "打开舱盖",
        "Close cover": "关闭舱盖",
        "Force-close cover": "强制关闭舱盖",
        "Power on": "开机",
        "Power off": "关机",
        "Start charging": "开始充电",
        "Stop charging": "停止充电",
        "Format aircraft storage": "格式化飞行器存储",
        "Light on": "打开补光灯",
        "Light off": "关闭补光灯",
        "Alarm on": "开启声光报警",
        "Alarm off": "关闭声光报警",
        "Battery care on": "开启电池保养",
        "Battery care off": "关闭电池保养",
        "Reboot dock": "重启机场",
        "Format dock storage": "格式化机场存储",
        "Idle": "空闲",
        "Cooling": "制冷",
        "Heating": "制热",
        "Dehumidifying": "除湿",
        "Apply": "应用",
        "Device settings": "设备设置",
        "Sending…": "发送中…",
        "Please confirm": "请确认",
        "Yes, do it": "确认执行",
        "Cancel": "取消",
        "Remote debugging": "远程调试中",
        "Not in debug mode": "未处于调试模式",
        "The dock is offline.": "机场离线。",
        "Turn debug mode on first.": "请先开启调试模式。",
        "Select a dock (or its aircraft) in the fleet panel.": (
            "请在机队面板中选择一个机场（或其飞行器）。"
        ),
        "Force-close the cover? Only do this when you have checked with your own "
        "eyes that the aircraft is not in the cover's way.": (
            "确定强制关闭舱盖？请先亲眼确认飞行器不在舱盖行程内。"
        ),
        "Power the aircraft off? Never do this while it is flying.": (
            "确定关闭飞行器电源？飞行中切勿执行。"
        ),
        "Format the aircraft's storage? Every photo and video on it is lost.": (
            "确定格式化飞行器存储？其中所有照片和视频都会丢失。"
        ),
        "Reboot the dock? It is unavailable for a few minutes.": (
            "确定重启机场？几分钟内将无法使用。"
        ),
        "Format the dock's storage? Media not yet uploaded is lost.": (
            "确定格式化机场存储？尚未上传的媒体会丢失。"
        ),
        # -- alarms panel --
        "Notice": "提示",
        "Caution": "注意",
        "Warning": "警告",
        "Alarm message": "告警内容",
        "Since": "开始时间",
        "Module": "模块",
        "Flight task": "飞行任务",
        "Device management": "设备管理",
        "Media": "媒体",
        "Health": "健康管理",
        "Speak warnings": "语音播报警告",
        "Mark all read": "全部标为已读",
        "Mark read": "标为已读",
        "History…": "历史…",
        "Import HMS table…": "导入 HMS 文案表…",
        "HMS table (hms.json *.json)": "HMS 文案表 (hms.json *.json)",
        "Could not import the HMS table": "无法导入 HMS 文案表",
        "HMS table imported": "HMS 文案表已导入",
        "{n} alarm texts imported; new alarms use them.": (
            "已导入 {n} 条告警文案，新告警将使用它们。"
        ),
        "{n} unread warning(s). Latest — {device}: {text}": (
            "{n} 条未读警告。最新 — {device}：{text}"
        ),
        "Alarm history": "告警历史",
        "All devices": "全部设备",
        "All levels": "全部级别",
        "Text or code…": "文字或代码…",
        "Unread only": "仅未读",
        "Search": "搜索",
        "Export CSV…": "导出 CSV…",
        "CSV files (*.csv)": "CSV 文件 (*.csv)",
        "Could not export": "无法导出",
        "{shown} of {total} alarms": "共 {total} 条告警，显示 {shown} 条",
        "Raised": "发生时间",
        "Cleared": "消除时间",
        "Code": "代码",
        "Read": "已读",
        # -- commands panel --
        "Command": "指令",
        "By": "发起方",
        "Status": "状态",
        "Progress": "进度",
        "Result": "结果",
        "Filter commands…": "筛选指令…",
        "Selected device only": "仅所选设备",
        "Failures only": "仅失败",
        "desktop": "桌面端",
        "operator": "操作员",
        "schedule": "计划任务",
        "Sent": "已发送",
        "Running": "执行中",
        "In progress": "执行中",
        "Done": "完成",
        "Timed out": "超时",
        "Refused": "已拒绝",
        "Rejected by the device": "设备拒绝",
        "Canceled": "已取消",
        "Interrupted": "已中断",
        "Paused": "已暂停",
        "Partly done": "部分完成",
        "Map": "地图",
        "Plots": "曲线",
        # -- status bar --
        "Broker": "代理",
        "connected": "已连接",
        "disconnected": "未连接",
        "Gateways online": "在线网关",
        "Aircraft online": "在线飞行器",
        "gateways": "网关",
        "aircraft": "飞行器",
        # -- fleet --
        "Filter (name, SN, model)…": "筛选(名称、SN、型号)…",
        "Name": "名称",
        "Model": "型号",
        "SN": "序列号",
        "Online": "在线",
        "Offline": "离线",
        "online": "在线",
        "offline": "离线",
        "Mode": "模式",
        "Battery": "电量",
        "Workspace": "工作空间",
        "Unbound devices": "未绑定设备",
        "Callsign": "呼号",
        "Rename…": "重命名…",
        "Copy SN": "复制序列号",
        "New callsign for {sn}:": "{sn} 的新呼号:",
        "Could not rename the device": "无法重命名设备",
        "Remote controller": "遥控器",
        # -- common values --
        "No device selected": "未选择设备",
        "Select a dock in the fleet panel.": "请在机队面板中选择一个机场。",
        "Select an aircraft in the fleet panel.": "请在机队面板中选择一架飞行器。",
        "No data yet": "暂无数据",
        "Yes": "是",
        "No": "否",
        "On": "开",
        "Off": "关",
        "unknown": "未知",
        "{used} of {total}": "{used} / {total}",
        "{n} s ago": "{n} 秒前",
        # -- dock panel --
        "State": "状态",
        "Cover": "舱盖",
        "Putter": "推杆",
        "Drone in dock": "飞行器在舱",
        "Charging": "充电",
        "Drone battery": "飞行器电量",
        "Task step": "任务步骤",
        "Emergency stop": "急停",
        "Environment": "环境",
        "Outside temperature": "环境温度",
        "Dock temperature": "舱内温度",
        "Humidity": "湿度",
        "Wind speed": "风速",
        "Rainfall": "降雨",
        "Network": "网络",
        "Network type": "网络类型",
        "Network quality": "网络质量",
        "Rate": "速率",
        "Storage": "存储",
        "Power": "电源",
        "Supply voltage": "供电电压",
        "Working voltage": "工作电压",
        "Working current": "工作电流",
        "Backup battery": "备用电池",
        "Air conditioner": "空调",
        "Maintenance": "维护",
        "Last maintenance": "上次维护",
        "Activation": "激活时间",
        "Position": "位置",
        "Firmware": "固件",
        "Alarm": "声光报警",
        # -- aircraft panel --
        "Mode reason": "模式原因",
        "Latitude": "纬度",
        "Longitude": "经度",
        "Height (ellipsoid)": "高度(椭球)",
        "Height (relative)": "相对高度",
        "Elevation (takeoff)": "相对起飞点高度",
        "Horizontal speed": "水平速度",
        "Vertical speed": "垂直速度",
        "Heading": "航向",
        "Attitude": "姿态",
        "Pitch": "俯仰",
        "Roll": "横滚",
        "Flight": "飞行",
        "Remaining flight time": "剩余飞行时间",
        "Batteries": "电池",
        "Return home at": "返航电量",
        "Land at": "降落电量",
        "GPS satellites": "GPS 卫星",
        "RTK satellites": "RTK 卫星",
        "RTK fixed": "RTK 固定",
        "Positioning": "定位",
        "Quality": "质量",
        "Wind": "风",
        "Distance to home": "距返航点",
        "Total flight distance": "累计飞行距离",
        "Total flight time": "累计飞行时间",
        "Cameras and gimbals": "相机与云台",
        "Camera": "相机",
        "Gimbal": "云台",
        "Payload": "负载",
        "Zoom": "变焦",
        "Recording": "录像",
        "Photo": "拍照",
        "Remaining photos": "剩余可拍张数",
        "Gear": "挡位",
        "Obstacle avoidance": "避障",
        "Gimbal pitch": "云台俯仰",
        "Gimbal yaw": "云台偏航",
        "Gimbal roll": "云台横滚",
        # -- events panel --
        "Time": "时间",
        "Device": "设备",
        "Kind": "类型",
        "Level": "级别",
        "Message": "消息",
        "All kinds": "全部类型",
        "Filter text…": "筛选文字…",
        "Clear": "清空",
        "info": "信息",
        "warning": "警告",
        "error": "错误",
        "binding": "绑定",
        "topology": "拓扑",
        "broker": "代理",
        "rejected": "拒收",
        "flight": "飞行",
        "task": "任务",
        "hms": "健康告警",
        "login": "登录",
        "storage": "存储",
        "Only selected device": "仅所选设备",
        # -- settings dialog --
        "Settings": "设置",
        "General": "常规",
        "Workspace name": "工作空间名称",
        "Workspace description": "工作空间描述",
        "Platform name": "平台名称",
        "Binding code": "绑定码",
        "Listen address": "监听地址",
        "Public address (empty = first LAN address)": "对外地址(留空 = 第一个局域网地址)",
        "MQTT port": "MQTT 端口",
        "HTTP port": "HTTP 端口",
        "HTTPS port": "HTTPS 端口",
        "NTP port": "NTP 端口",
        "NTP fallback port": "NTP 备用端口",
        "Storage port": "存储端口",
        "Device username": "设备用户名",
        "Device password": "设备密码",
        "External broker URL (empty = embedded)": "外部代理地址(留空 = 内置)",
        "App ID": "App ID",
        "App key": "App Key",
        "App licence": "App License",
        "Offline after (s)": "离线判定(秒)",
        "History retention (days)": "历史保留(天)",
        "History interval (s)": "历史采样间隔(秒)",
        "History size cap (MB)": "历史容量上限(MB)",
        "Ports": "端口",
        "running on {port}": "当前运行于 {port}",
        "Bucket": "存储桶",
        "Region": "区域",
        "Temporary credentials lifetime (s)": "临时凭证有效期(秒)",
        "External S3 endpoint (empty = embedded)": "外部 S3 地址(留空 = 内置)",
        "External access key": "外部 Access Key",
        "External secret key": "外部 Secret Key",
        "Ask the external store for STS": "向外部存储申请 STS 临时凭证",
        "Role ARN (AWS)": "角色 ARN(AWS)",
        "Pilot": "Pilot",
        "Pilot user": "Pilot 用户名",
        "Pilot password": "Pilot 密码",
        "Token lifetime (s)": "令牌有效期(秒)",
        "Devices": "设备",
        "DJI licence": "DJI 许可",
        "Telemetry": "遥测",
        "Interface": "界面",
        "Settings saved. Restart the station for these changes to take effect: {names}.": (
            "设置已保存。以下更改需重启地面站后生效:{names}。"
        ),
        "Settings saved.": "设置已保存。",
        "Could not save the settings": "无法保存设置",
        "Restart needed": "需要重启",
        "Generate": "生成",
        "Show": "显示",
        # -- wizard --
        "Connection wizard": "连接向导",
        "Pilot 2 (remote controller)": "Pilot 2(遥控器)",
        "Dock access (Pilot's dock wizard)": "机场接入(Pilot 机场向导)",
        "Checks": "检查",
        "In DJI Pilot 2 open Cloud Service → Open Platform and type this URL:": (
            "在 DJI Pilot 2 中打开 云服务 → 开放平台,输入以下地址:"
        ),
        "Addresses of this computer (use the one on the devices' network):": (
            "本机地址(请使用与设备同一网络的地址):"
        ),
        "Scan with the controller to open the URL.": "用遥控器扫码打开该地址。",
        "In Pilot's dock-access wizard enter:": "在 Pilot 机场接入向导中输入:",
        "MQTT address": "MQTT 地址",
        "Username": "用户名",
        "Password": "密码",
        "CA certificate": "CA 证书",
        "Copy": "复制",
        "Copied": "已复制",
        "Check again": "重新检查",
        "MQTT port reachable": "MQTT 端口可达",
        "HTTP port reachable": "HTTP 端口可达",
        "A device has connected": "已有设备连接",
        "Licence configured": "已配置许可",
        "OK": "正常",
        "Failed": "失败",
        "Waiting": "等待中",
        "Don't show at start": "启动时不再显示",
        "Close": "关闭",
        "The web server is not running yet: Pilot cannot log in until it is available.": (
            "Web 服务尚未运行:在其可用之前 Pilot 无法登录。"
        ),
        "Allow TCP port {port} in this computer's firewall, and check the address is on the"
        " devices' network.": (
            "请在本机防火墙中放行 TCP 端口 {port},并确认该地址与设备处于同一网络。"
        ),
        "No device yet. On the dock, run Pilot's dock-access wizard with the values above;"
        " for Pilot, type the URL above. Both must be on this computer's network.": (
            "尚无设备连接。对机场,请用上面的信息完成 Pilot 机场接入向导;对 Pilot,"
            "请输入上面的地址。两者都必须与本机处于同一网络。"
        ),
        "Enter the App ID, key and licence from the DJI developer site in Settings → DJI"
        " licence; docks refuse to fly without them.": (
            "请在 设置 → DJI 许可 中填写从 DJI 开发者网站获得的 App ID、Key 和 License;"
            "缺少它们机场将拒绝飞行。"
        ),
        "The station is not serving HTTPS yet.": "地面站尚未提供 HTTPS 服务。",
        # -- start errors --
        "The station could not start": "地面站无法启动",
        "A port the station needs is already in use: {detail}": "地面站所需端口已被占用:{detail}",
        "Close the other program using it (another GCS instance?), or change the port in"
        " {path} and start again.": (
            "请关闭占用它的其他程序(另一个 GCS 实例?),或在 {path} 中修改端口后重新启动。"
        ),
        "The station failed to start: {detail}": "地面站启动失败:{detail}",
        "See the log in {path} and check the settings in {settings}.": (
            "请查看 {path} 中的日志,并检查 {settings} 中的设置。"
        ),
    }
)
register(ZH)
