"""The data behind :mod:`gcs.protocol.errors`: DJI result codes, their areas and live codes.

Nothing here computes: :data:`ROWS` lists every code with its own English and Chinese text (DJI's
v1.16.1 table plus the Demo-only codes), :data:`AREAS` names the functional area of each
three-digit prefix, and :data:`LIVE` the livestream errors by their last five digits (§7.4).
:func:`gcs.protocol.errors.describe` reads them; ``tests/protocol/test_error_codes.py`` checks
that every code of DJI's table has a row.
"""

from __future__ import annotations

from typing import Final

__all__ = ["AREAS", "LIVE", "ROWS", "STATION_AREA"]

# Areas by the three leading digits: (English, Chinese).
AREAS: Final[dict[int, tuple[str, str]]] = {
    312: ("firmware upgrade", "固件升级"),
    313: ("livestream", "直播"),
    314: ("flight task delivery", "飞行任务下发"),
    315: ("leap-frog task", "蛙跳任务"),
    316: ("aircraft preparation", "飞行器准备"),
    317: ("media", "媒体文件"),
    319: ("dock task centre", "机场任务中心"),
    321: ("wayline execution", "航线执行"),
    322: ("wayline execution", "航线执行"),
    324: ("logs and media upload", "日志与媒体上传"),
    325: ("command acceptance", "指令接收"),
    326: ("cellular link", "4G 增强图传"),
    327: ("control and payload", "控制与负载"),
    328: ("real-name registration", "实名登记"),
    336: ("fly-to", "指点飞行"),
    337: ("take-off and command flight", "一键起飞与指令飞行"),
    338: ("aircraft link and landing dock", "飞行器通信与降落机场"),
    341: ("dock location", "机场定位"),
    386: ("wayline execution", "航线执行"),
    413: ("livestream", "直播"),
    513: ("livestream", "直播"),
    514: ("dock hardware and state", "机场硬件与状态"),
    613: ("livestream", "直播"),
}
# The area of our own codes (first digit 2), which have no three-digit prefix of their own.
STATION_AREA: Final = ("station", "地面站")

# Messages shared by several codes (DJI reuses one text for different internal steps).
_RESTART_DOCK_PREP = (
    "Pre-take-off preparation failed; restart the dock and try again",
    "起飞前准备未完成，任务无法执行；请重启机场后再试",
)
_UPGRADE_CMD = ("Upgrade command failed; try again", "升级指令执行不成功，请再试一次")
_LEAP_COMMS = (
    "Communication between the docks failed; restart the dock",
    "机场之间通信出错，请重启机场",
)
_LEAP_BOTH_IDLE = (
    "Task failed: wait until both docks are idle, then send the task again",
    "任务未能执行：请等两个机场都空闲后重新下发",
)
_LEAP_STOP = (
    "Could not stop the flight task; retry later, contact DJI support if it persists",
    "飞行任务停不下来，请稍后再试；一直出现请联系大疆售后",
)
_LEAP_SEND = (
    "Flight task delivery failed; retry later, contact DJI support if it persists",
    "飞行任务未能下发，请稍后再试；一直出现请联系大疆售后",
)
_LEAP_RESEND = (
    "Task failed; restart the dock and send the task again, contact DJI support if it persists",
    "任务未能执行：重启机场并重新下发任务；一直出现请联系大疆售后",
)
_RTK_POS = (
    "Aircraft RTK positioning error; retry later or restart the dock",
    "飞行器 RTK 定位出错，请稍后再试或重启机场",
)
_AIRCRAFT_INIT = (
    "Aircraft initialisation failed; restart the dock and try again",
    "飞行器初始化没有成功，请重启机场再试",
)
_BATTERY_30 = (
    "Aircraft battery below 30 %; charge it first (50 % or more recommended)",
    "飞行器电量不足 30%，请先充电（建议充到 50% 以上）",
)
_APPROACH_ROUTE = (
    "Approach/departure route could not be executed; contact DJI support",
    "进离场航线没能执行，请联系大疆售后",
)
_NO_FLY = ("Target point lies inside a no-fly zone", "目标点落在禁飞区里")
_TOUCH_NO_FLY = ("Reached a no-fly zone", "飞行器碰到了禁飞区")
_AIRCRAFT_COMMS = (
    "Aircraft communication error; restart the aircraft and the dock",
    "飞行器通信出错，任务无法执行；请重启飞行器和机场",
)
_AIRCRAFT_DATA = (
    "Aircraft data update failed; restart the aircraft",
    "飞行器数据未能更新，任务无法执行；请重启飞行器",
)
_PROP_STOW = (
    "Propeller slow-spin (stowing) control failed; restart the dock",
    "飞行器慢转收桨控制出错，请重启机场",
)
_ROD_CONTACT = (
    "driving rods cannot connect to the aircraft: check it is inside, the rods are not "
    "jammed and the charging contacts are clean and undamaged",
    "推杆与飞行器接不上：请检查飞行器是否在舱内、推杆合拢时是否卡住、充电触点是否脏污或损坏",
)
_REBOOT_FAILED = (
    "Device reboot failed; retry later, contact DJI support if it persists",
    "设备没能重启，请稍后再试；一直出现请联系大疆售后",
)
_OBTAIN_CONTROL = ("Could not obtain control; retry later", "没拿到控制权，请稍后再试")

# (code, English, Chinese). DJI v1.16.1 table plus Demo-only codes (marked "Demo").
ROWS: Final[tuple[tuple[int, str, str], ...]] = (
    # 312 firmware upgrade
    (
        312001,
        "Consistency upgrade started although the device did not ask for one",
        "发起了一致性升级，但设备并没有请求",
    ),
    (
        312002,
        "Upgrade failed while preparing (step 1); try again",
        "升级准备阶段一出错，请再试一次",
    ),
    (
        312003,
        "Upgrade failed: package validation did not pass; try again",
        "升级包校验没通过，请再试一次",
    ),
    (
        312004,
        "Upgrade failed while preparing (step 2); try again",
        "升级准备阶段二出错，请再试一次",
    ),
    (312010, "Upgrade request does not match the interface", "升级请求和接口定义对不上"),
    (312012, "Upgrade parameters are wrong; check them and try again", "升级参数有误，核对后再试"),
    (312013, *_UPGRADE_CMD),
    (
        312014,
        "The device is already upgrading; do not start another upgrade",
        "设备已经在升级了，不要重复发起",
    ),
    (
        312015,
        "The dock is busy and cannot upgrade now; wait until it is idle",
        "机场正忙，暂时不能升级；等它空闲后再试",
    ),
    (
        312016,
        "Upgrade failed: the dock–aircraft video link is faulty; restart both and retry",
        "升级没成功：机场与飞行器之间的图传链路出错，重启两者后再试",
    ),
    (312017, "Firmware version check failed", "固件版本核对没通过"),
    (312018, *_UPGRADE_CMD),
    (312019, *_UPGRADE_CMD),
    (312020, *_UPGRADE_CMD),
    (312021, *_UPGRADE_CMD),
    (
        312022,
        "Aircraft did not power on or is not connected: check it is in the dock, has a "
        "battery and is paired with the dock",
        "飞行器没开机或没连上：请确认它在舱内、装了电池并已与机场对频",
    ),
    (
        312023,
        "Driving rods could not close, so the aircraft cannot upgrade: check the emergency "
        "stop and whether something jams the rods",
        "推杆合不拢，飞行器无法升级：请检查急停按钮和推杆有没有被异物卡住",
    ),
    (312024, *_UPGRADE_CMD),
    (312025, "Could not delete the old firmware package", "旧固件包删不掉"),
    (312026, "Could not unpack the offline upgrade package", "离线升级包解压出错"),
    (312027, "Upgrade failed: no aircraft detected in the dock", "升级没成功：舱内没检测到飞行器"),
    (
        312028,
        "Upgrade failed: the device restarted during the upgrade",
        "升级没成功：升级途中设备重启了",
    ),
    (312029, "The device is rebooting; upgrade after it is back", "设备正在重启，等重启完再升级"),
    (
        312030,
        "Upgrade failed: turn off the aircraft's 4G enhanced transmission first",
        "升级没成功：请先关掉飞行器的 4G 增强图传",
    ),
    (
        312704,
        "Battery too low to upgrade; charge it above 20 % and retry",
        "电量太低不能升级，请充到 20% 以上再试",
    ),
    # 314 flight task delivery
    (
        314000,
        "The device cannot do this in its current state; check what it is doing",
        "设备眼下的状态不允许这项操作，请先查看它的工作状态",
    ),
    (
        314001,
        "Flight task could not be delivered (bad parameters, e.g. empty file URL); retry later",
        "飞行任务没能下发（参数有误，比如文件地址为空），请稍后再试",
    ),
    (
        314002,
        "Flight task could not be delivered (wayline MD5 missing); retry later",
        "飞行任务没能下发（缺少航线 MD5），请稍后再试",
    ),
    (
        314003,
        "Wayline file format not supported; check the KMZ",
        "航线文件格式不被支持，请检查 KMZ 文件",
    ),
    (314004, "Flight task could not be delivered (Demo)", "飞行任务没能下发"),
    (
        314005,
        "Flight task could not be delivered (wayline MD5 mismatch); retry or restart the dock",
        "飞行任务没能下发（航线 MD5 对不上），请再试或重启机场",
    ),
    (314006, *_AIRCRAFT_INIT),
    (
        314007,
        "The dock could not pass the wayline to the aircraft; restart the dock",
        "机场没能把航线传给飞行器，请重启机场",
    ),
    (
        314008,
        "Aircraft pre-flight preparation timed out; restart the dock",
        "飞行器起飞准备超时，请重启机场",
    ),
    (314009, *_AIRCRAFT_INIT),
    (
        314010,
        "Wayline execution failed; restart the dock and try again",
        "航线没能执行，请重启机场后再试",
    ),
    (
        314011,
        "Dock system error: the task result could not be obtained",
        "机场系统出错，拿不到任务执行结果",
    ),
    (
        314012,
        "Aircraft pre-flight preparation failed, task cannot run; restart the dock",
        "飞行器起飞准备没完成，任务无法执行，请重启机场",
    ),
    (
        314013,
        "The dock could not fetch this task's wayline file; retry later",
        "机场取不到这次任务的航线文件，请稍后再试",
    ),
    (
        314014,
        "Dock system error made the task fail; retry later",
        "机场系统出错导致任务失败，请稍后再试",
    ),
    (
        314015,
        "Could not pass the precise-reshoot wayline to the aircraft; retry or restart the dock",
        "精准复拍航线没能传到飞行器，请再试或重启机场",
    ),
    (314016, "Wayline file could not be parsed; check the file", "航线文件解析出错，请检查文件"),
    (
        314017,
        "Wayline file could not be processed; check the wayline and retry",
        "航线文件处理出错，请检查航线后再试",
    ),
    (314018, *_RTK_POS),
    (
        314019,
        "Aircraft RTK did not converge; retry later or restart the dock",
        "飞行器 RTK 没能收敛，请稍后再试或重启机场",
    ),
    (
        314020,
        "Aircraft is off-centre on the landing pad or faces the wrong way; check its "
        "position and heading",
        "飞行器没停在停机坪中央或机头朝向不对，请检查位置和朝向",
    ),
    (314021, *_RTK_POS),
    (
        314022,
        "Could not modify the KMZ for breakpoint resume (Demo)",
        "断点续飞用的 KMZ 文件改写出错",
    ),
    (
        314024,
        "Approach/departure route could not be delivered; retry or restart the dock",
        "进离场航线没能下发，请再试或重启机场",
    ),
    (
        314025,
        "RTK convergence took too long and the user cancelled the task",
        "RTK 收敛超时，任务已被用户取消",
    ),
    (
        314200,
        "Task failed: the dock lost its network and the aircraft returned home; "
        "reconnect the dock and retry",
        "任务失败：机场断网，飞行器已自动返航；请恢复机场网络后再试",
    ),
    # 315 leap-frog (two docks)
    (315000, *_LEAP_COMMS),
    (
        315001,
        "Dock communication error: power the aircraft on remotely, wait about a minute "
        "and send the task again",
        "机场通信出错：请远程开启飞行器，约 1 分钟后重新下发任务",
    ),
    (315002, *_LEAP_COMMS),
    (315003, *_LEAP_COMMS),
    (315004, *_LEAP_BOTH_IDLE),
    (315005, *_LEAP_COMMS),
    (315006, *_LEAP_COMMS),
    (
        315007,
        "Dock communication error; update the dock firmware or restart the dock",
        "机场通信出错，请把机场固件升到最新或重启机场",
    ),
    (
        315008,
        "Take-off and landing docks are calibrated differently: both need a working link "
        "and the same network calibration data",
        "起降两个机场的标定信息不一致：两者链路都要通畅，并用同一套网络信息标定",
    ),
    (315009, *_LEAP_COMMS),
    (315010, *_LEAP_STOP),
    (315011, *_LEAP_STOP),
    (315012, *_LEAP_STOP),
    (315013, *_LEAP_SEND),
    (315014, "This task type does not allow setting a home point", "这类任务不能设置返航点"),
    (
        315015,
        "Setting the home point failed; retry later, contact DJI support if it persists",
        "返航点没设上，请稍后再试；一直出现请联系大疆售后",
    ),
    (315016, *_LEAP_SEND),
    (315017, *_LEAP_SEND),
    (315018, *_LEAP_BOTH_IDLE),
    (
        315019,
        "The dock's site does not suit leap-frog tasks; choose another dock",
        "该机场的部署位置不适合蛙跳任务，请换一个机场",
    ),
    (315050, "Dock system error; restart the dock", "机场系统出错，请重启机场"),
    (315051, *_LEAP_RESEND),
    (
        315052,
        "Dock position not converged yet; wait a while and retry",
        "机场位置还没收敛，请等一会儿再试",
    ),
    *((c, *_LEAP_RESEND) for c in range(315053, 315066)),
    # 316 aircraft preparation
    (
        316001,
        "Aircraft parameter set-up failed (alternate landing point); restart the dock",
        "飞行器参数配置出错（备降点），请重启机场",
    ),
    (
        316002,
        "Aircraft parameter set-up failed (alternate-landing safe height); restart the dock",
        "飞行器参数配置出错（备降安全高度），请重启机场",
    ),
    (
        316003,
        "Aircraft parameter set-up failed (take-off height); restart the dock",
        "飞行器参数配置出错（起飞高度），请重启机场",
    ),
    (
        316004,
        "Aircraft parameter set-up failed (lost-link action); restart the dock",
        "飞行器参数配置出错（失联动作），请重启机场",
    ),
    (316005, "Aircraft RTK did not converge; restart the dock", "飞行器 RTK 没能收敛，请重启机场"),
    (
        316006,
        "Task timed out: the aircraft is lost, or the cover/rods were not open so it could "
        "not land in the dock; check on site at once",
        "任务超时：飞行器失联，或降落时舱盖/推杆没打开导致回不了舱；请尽快到现场查看",
    ),
    (316007, *_AIRCRAFT_INIT),
    (
        316008,
        "The dock could not take flight control; make sure the RC has not locked control",
        "机场拿不到飞行器控制权，请确认遥控器没有锁定控制权",
    ),
    (316009, *_BATTERY_30),
    (
        316010,
        "The dock cannot detect the aircraft: check it is inside and paired, or restart the dock",
        "机场检测不到飞行器：请确认舱内有飞行器且已对频，或重启机场",
    ),
    (
        316011,
        "Aircraft landed too far off position; it may need straightening on site",
        "飞行器落点偏得太多，可能需要到现场摆正",
    ),
    (316012, *_RESTART_DOCK_PREP),
    (
        316013,
        "Pre-take-off preparation failed (battery level query); restart the dock",
        "起飞前准备未完成（电量查询出错），请重启机场",
    ),
    (
        316014,
        "Pre-take-off preparation failed (flight-controller data timed out); restart the dock",
        "起飞前准备未完成（飞控数据超时），请重启机场",
    ),
    (
        316015,
        "Aircraft RTK position is too far from the dock; restart the dock",
        "飞行器 RTK 收敛出的位置离机场太远，请重启机场",
    ),
    (
        316016,
        "Landing in the dock timed out (link may be lost); check the live video",
        "回舱降落超时，可能机场和飞行器断连了；请看直播确认是否已回舱",
    ),
    (
        316017,
        "Reading the aircraft's media count timed out (link may be lost); check the live video",
        "读取飞行器媒体数量超时，可能已断连；请看直播确认是否已回舱",
    ),
    (
        316018,
        "Flight task timed out (link may be lost); check the live video whether the "
        "aircraft is back",
        "飞行任务执行超时，可能已断连；请看直播确认飞行器是否已回舱",
    ),
    (
        316019,
        "Dock system error, the task cannot run; retry later",
        "机场系统出错，任务无法执行，请稍后再试",
    ),
    (
        316020,
        "Aircraft uses the wrong RTK source; retry later",
        "飞行器用的 RTK 信号源不对，请稍后再试",
    ),
    (
        316021,
        "Checking the aircraft's RTK source timed out; retry later",
        "检查飞行器 RTK 信号源超时，请稍后再试",
    ),
    (
        316022,
        "Aircraft cannot return home: check it is powered on and still linked to the dock",
        "飞行器无法返航：请检查它是否开机、与机场是否断连",
    ),
    (
        316023,
        "Aircraft cannot return home: controller B has taken over; fly it from B or turn B off",
        "飞行器无法返航：已被 B 控接管，请用 B 控操作或关掉 B 控后再试",
    ),
    (
        316024,
        "Return home failed: check that the aircraft has taken off",
        "返航没成功：请确认飞行器已经起飞后再试",
    ),
    (
        316025,
        "Aircraft parameter set-up failed; retry or restart the dock",
        "飞行器参数配置出错，请再试或重启机场",
    ),
    (
        316026,
        "The dock's emergency stop is pressed; release it and retry",
        "机场急停按钮被按下了，松开后再试",
    ),
    (
        316027,
        "Aircraft parameter set-up timed out; retry or restart the dock",
        "飞行器参数配置超时，请再试或重启机场",
    ),
    (
        316029,
        "Emergency stop pressed: the aircraft is flying to the alternate landing site; "
        "check it landed safely and put it back in the dock",
        "急停已按下，飞行器正飞往备降点：请确认它安全落地并放回机场",
    ),
    (316030, "Refreshing the home point failed; retry (Demo)", "返航点刷新出错，请再试"),
    (316031, "Setting the return-home mode failed; retry (Demo)", "返航模式没设上，请再试"),
    (
        316032,
        "Reading battery data timed out; retry or restart the aircraft",
        "读取电池数据超时，请再试或重启飞行器",
    ),
    (
        316033,
        "Battery cycle count too high: task stopped for safety; replace the battery",
        "电池循环次数太多，为安全起见任务已终止，建议换电池",
    ),
    (
        316034,
        "Cannot take off: aircraft and dock firmware do not match; upgrade the firmware",
        "无法起飞：飞行器和机场的固件版本不配套，请先升级固件",
    ),
    (
        316035,
        "Approach/departure route delivery failed: update the firmware and resend the "
        "task, contact DJI support if it persists",
        "进离场航线没能下发：请把固件更新到最新后重新下发，一直出现请联系大疆售后",
    ),
    (
        316050,
        "Aircraft landed outside the dock because of low battery; check it and put it back",
        "电量过低，飞行器落在了舱外；请马上检查并放回机场",
    ),
    (
        316051,
        "Task fault: the aircraft landed outside the dock; check it and put it back",
        "任务出错，飞行器落在了舱外；请马上检查并放回机场",
    ),
    (
        316052,
        "Task fault: the aircraft is flying to the alternate landing site; check it and "
        "put it back",
        "任务出错，飞行器正飞往备降点；请确认安全落地并放回机场",
    ),
    (
        316053,
        "The user landed the aircraft manually; check it and put it back in the dock",
        "用户手动操控飞行器降落了，请检查飞行器并放回机场",
    ),
    (316100, "Could not read the camera profile; retry", "读取相机概要信息出错，请再试"),
    (316101, "Could not set the camera to single-shot mode; retry", "相机单拍模式没设上，请再试"),
    (316102, "Could not turn off the camera watermark; retry", "相机水印关不掉，请再试"),
    (316103, "Could not set average metering; retry", "平均测光没设上，请再试"),
    (316104, "Could not switch to the wide lens; retry", "没能切到广角镜头，请再试"),
    (316105, "Could not set the camera's photo storage; retry", "相机照片存储设置出错，请再试"),
    (316106, "Could not set the IR zoom factor; retry", "红外变焦倍率没设上，请再试"),
    (316107, "Could not set the photo size to 4K; retry", "照片尺寸没能设为 4K，请再试"),
    (316108, "Could not set the photo format to JPEG; retry", "照片格式没能设为 JPEG，请再试"),
    (316109, "Could not turn off lens distortion correction; retry", "畸变校正关不掉，请再试"),
    (316110, "Could not turn on the mechanical shutter; retry", "机械快门开不了，请再试"),
    (316111, "Could not set the focus mode; retry", "对焦模式没设上，请再试"),
    # 317 media
    (
        317001,
        "Could not read the aircraft's media file count; restart the dock",
        "读取飞行器媒体文件数量出错，请重启机场",
    ),
    (
        317002,
        "Formatting aircraft storage failed: aircraft off, not connected or camera not "
        "found; fix that and retry, or restart the aircraft",
        "飞行器存储格式化出错：飞行器没开机、没连上或找不到相机；排除后再试，或重启飞行器",
    ),
    (
        317003,
        "Formatting aircraft storage failed; restart the aircraft and retry",
        "飞行器存储格式化出错，请重启飞行器后再试",
    ),
    (
        317004,
        "Formatting the dock's media storage failed; retry or restart the dock",
        "机场媒体存储格式化出错，请再试或重启机场",
    ),
    (
        317005,
        "Aircraft failed to stop recording; this flight's media may not upload",
        "飞行器停止录像出错，本次任务的媒体可能传不上来",
    ),
    (
        317006,
        "Cannot format while aircraft media are downloading; wait for it to finish",
        "飞行器媒体文件还在下载，暂时不能格式化，请等下载完",
    ),
    (
        317007,
        "Could not read the media file count; retry later, contact DJI support if this "
        "flight has media and it persists",
        "读取媒体文件数量出错，请稍后再试；若本架次确有媒体且一直出现，请联系大疆售后",
    ),
    # 319 dock task centre
    (
        319001,
        "The dock is busy with a task or uploading an issue-report log; wait and retry",
        "机场正在作业或上传异常反馈日志，请等它完成后再试",
    ),
    (319002, "Dock system error; restart the dock", "机场系统运行出错，请重启机场"),
    (
        319003,
        "Dock system error (the dock does not know this task); send the task again",
        "机场系统出错（机场里没有这个任务），请重新下发任务",
    ),
    (319004, "The task ran too long and was stopped automatically", "任务执行超时，已被自动终止"),
    (
        319005,
        "Cloud–dock communication error: the execute command did not arrive in time",
        "云端与机场通信出错，执行指令没能及时送到",
    ),
    (319006, "Cannot cancel: the task is already running", "任务已经在执行，取消不了"),
    (319007, "Cannot modify: the task is already running", "任务已经在执行，改不了"),
    (
        319008,
        "The dock's clock is not in sync with the cloud, so tasks cannot run (give the dock NTP)",
        "机场时钟与云端不同步，任务无法执行（请给机场提供 NTP 授时）",
    ),
    (319009, "Task delivery failed; retry or restart the dock", "任务没能下发，请再试或重启机场"),
    (
        319010,
        "Dock firmware is too old for this task; upgrade it",
        "机场固件版本太旧，请升级到最新后再试",
    ),
    (
        319015,
        "The dock is initialising; wait until it finishes",
        "机场还在初始化，请等它完成后再试",
    ),
    (319016, "The dock is running another flight task", "机场正在执行别的飞行任务"),
    (
        319017,
        "The dock is still processing the previous task's media; retry later",
        "机场还在处理上一次任务的媒体文件，请稍后再试",
    ),
    (
        319018,
        "The dock is exporting logs automatically (issue report); retry later",
        "机场正在自动导出日志（异常反馈），请稍后再试",
    ),
    (
        319019,
        "The dock is pulling logs (issue report); retry later",
        "机场正在拉取日志（异常反馈），请稍后再试",
    ),
    (319020, "Pausing the wayline failed; retry later", "航线暂停出错，请稍后再试"),
    (319021, "Leaving remote control failed; retry later", "退出远程控制出错，请稍后再试"),
    (319022, "Fly-to failed; retry later", "指点飞行出错，请稍后再试"),
    (319023, "Stopping fly-to failed; retry later", "停止指点飞行出错，请稍后再试"),
    (319024, "One-tap take-off failed; retry later", "一键起飞出错，请稍后再试"),
    (
        319025,
        "The dock is not ready for a cloud task; retry later",
        "机场还没准备好执行云端任务，请稍后再试",
    ),
    (
        319026,
        "Battery is below the level set for starting tasks; wait for charging",
        "飞行器电量低于设定的任务起始电量，请等充电完成",
    ),
    (
        319027,
        "Dock or aircraft storage too low; wait for media uploads to free space",
        "机场或飞行器存储空间不够，请等媒体上传腾出空间后再执行",
    ),
    (319028, "Custom flight areas are being updated", "自定义飞行区正在更新"),
    (319029, "The offline map is being updated", "离线地图正在更新"),
    (319030, "Refused: no flight control authority", "操作不成功：没有飞行控制权"),
    (
        319031,
        "Control authority is in a bad state; refresh and retry",
        "控制权状态不对，请刷新后再试",
    ),
    (
        319032,
        "Fly-to failed (wrong number of target points); retry",
        "指点飞行出错（目标点数量不对），请再试",
    ),
    (
        319033,
        "Virtual-stick command failed (sequence number older than the last); retry",
        "虚拟摇杆指令出错（序号比上一条旧），请再试",
    ),
    (
        319034,
        "Virtual-stick command failed (packet arrived too late); retry",
        "虚拟摇杆指令出错（数据包到得太晚），请再试",
    ),
    (319035, "Emergency stop failed; retry", "急停没成功，请再试"),
    (319036, "The device is in remote debugging; retry later", "设备正在远程调试，请稍后再试"),
    (319037, "The device is in on-site debugging; retry later", "设备正在现场调试，请稍后再试"),
    (319038, "The device is upgrading; retry later", "设备正在升级，请稍后再试"),
    (319042, "Resuming the wayline failed; retry later", "航线恢复出错，请稍后再试"),
    (319043, "Cancelling return home failed; retry later", "取消返航出错，请稍后再试"),
    (319044, "The wayline task has already ended; nothing to resume", "航线任务已经结束，无法恢复"),
    (319045, "Emergency stop done; press the key again to control", "已经急停，请重新按键操作"),
    (
        319046,
        "Cannot pause: the aircraft has not entered or has already left the wayline",
        "暂停不了：飞行器还没进入航线或已经退出航线",
    ),
    (319999, "Dock system error; restart the dock", "机场系统运行出错，请重启机场"),
    # 321 / 322 / 386 wayline execution
    (
        321000,
        "Wayline execution error; retry later or restart the dock",
        "航线执行出错，请稍后再试或重启机场",
    ),
    (321004, "Wayline file could not be parsed; check the file", "航线文件解析出错，请检查文件"),
    (321005, "The wayline lacks breakpoint information", "航线里没有断点信息，无法执行"),
    (321257, "The task is already running; do not start it again", "任务已经在执行，不要重复启动"),
    (
        321258,
        "The task cannot be stopped now; check the aircraft state",
        "眼下停不了任务，请检查飞行器状态",
    ),
    (321259, "The task has not started, so it cannot be stopped", "任务还没开始，谈不上终止"),
    (321260, "The task has not started, so it cannot be paused", "任务还没开始，谈不上暂停"),
    (321513, "Wayline altitude exceeds the aircraft's height limit", "航线高度超过了飞行器限高"),
    (
        321514,
        "Start or end point lies in the distance-limit buffer or beyond the distance limit",
        "起点或终点落在限远缓冲区里，或超出了限远距离",
    ),
    (321515, "The wayline crosses a GEO (restricted) zone", "航线穿过了限飞区"),
    (321516, "The aircraft flew too low; the task was stopped", "飞行高度太低，任务已终止"),
    (
        321517,
        "Obstacle avoidance triggered and the task stopped; do not resume this wayline "
        "from the breakpoint",
        "触发避障，任务已终止；为安全请不要用这条航线断点续飞",
    ),
    (
        321519,
        "Neared a GEO zone or the distance limit: the aircraft returned home automatically",
        "接近限飞区或限远距离，飞行器已自动返航，航线没飞完",
    ),
    (
        321523,
        "Take-off failed (propeller check); retry later, contact DJI support if it persists",
        "起飞没成功（桨叶检查未通过），请稍后再试；一直出现请联系大疆售后",
    ),
    (
        321524,
        "Pre-take-off preparation failed: no positioning or wrong flight mode; check the aircraft",
        "起飞前准备没完成，可能定位不到或挡位不对，请检查飞行器",
    ),
    (
        321528,
        "Touched a custom flight area boundary; wayline paused",
        "碰到自定义飞行区边界，航线已暂停",
    ),
    (
        321529,
        "Target point is inside a no-fly zone or an obstacle; wayline paused, re-plan it",
        "目标点在禁飞区或障碍物里到不了，航线已暂停，请重新规划",
    ),
    (
        321530,
        "Trajectory planning failed during the wayline; paused",
        "航线飞行中轨迹规划出错，已暂停",
    ),
    (321531, *_APPROACH_ROUTE),
    (321532, *_APPROACH_ROUTE),
    (321533, *_APPROACH_ROUTE),
    (
        321769,
        "Weak satellite positioning; restart the dock and retry",
        "卫星定位信号弱，请重启机场后再试",
    ),
    (
        321770,
        "Wrong flight mode (gear); restart the dock and retry",
        "飞行挡位不对，请重启机场后再试",
    ),
    (321771, "Home point not set; restart the dock and retry", "还没设返航点，请重启机场后再试"),
    (321772, *_BATTERY_30),
    (
        321773,
        "Low-battery return home during the task; wayline not completed",
        "任务途中低电量返航，航线没飞完",
    ),
    (
        321775,
        "The aircraft lost its link during the wayline; not completed",
        "航线飞行途中飞行器失联，航线没飞完",
    ),
    (321776, "Aircraft RTK did not converge; restart the dock", "飞行器 RTK 没能收敛，请重启机场"),
    (
        321777,
        "The aircraft is not hovering, so the task cannot start",
        "飞行器没有悬停，任务开始不了",
    ),
    (
        321778,
        "Propellers were started from controller B; the dock cannot run the task",
        "有人用 B 控让飞行器起桨了，机场无法执行任务",
    ),
    (321784, "Strong wind during the task: emergency return home", "任务中遇到大风，已紧急返航"),
    (
        321788,
        "Task failed: signal interference caused an abnormal return home",
        "任务失败：信号受到干扰，飞行器异常返航",
    ),
    (
        322281,
        "Task failed: interrupted manually or ended abnormally",
        "任务失败：被人工打断或异常终止",
    ),
    (
        322282,
        "Task interrupted: a cloud user or the RC took over the aircraft",
        "任务被中断：云端用户或遥控器接管了飞行器",
    ),
    (322283, "Task ended: the user triggered return home", "任务结束：用户触发了返航，航线没飞完"),
    (322539, "The wayline's breakpoint information is wrong", "航线的断点信息有误，无法执行"),
    (
        322563,
        "Trajectory generation failed: clean the vision sensors or restart the aircraft, "
        "contact DJI support if it persists",
        "航线轨迹生成出错：请清洁视觉镜头或重启飞行器，一直出现请联系大疆售后",
    ),
    (322594, "The wayline action tree is empty (Demo)", "航线动作树为空"),
    (
        386535,
        "Wayline execution error; retry later or restart the dock",
        "航线执行出错，请稍后再试或重启机场",
    ),
    # 324 logs and media upload
    (324001, "A device restart interrupted the log export (Demo)", "设备重启打断了日志导出"),
    (
        324012,
        "Log compression timed out: too many logs selected; choose fewer",
        "日志压缩超时：选的日志太多，请少选一些再试",
    ),
    (324013, "Could not read the device log list; retry later", "读取设备日志列表出错，请稍后再试"),
    (
        324014,
        "The device log list is empty; refresh or restart the dock",
        "设备日志列表是空的，请刷新或重启机场",
    ),
    (
        324015,
        "Aircraft off or not connected, so no log list: make sure it is in the dock and "
        "power it on via remote debugging",
        "飞行器关机或没连上，读不到日志列表：请确认它在舱内，并通过远程调试开机",
    ),
    (
        324016,
        "Dock storage full, log compression failed; free space or retry later",
        "机场存储空间不够，日志压缩失败；请清理空间或稍后再试",
    ),
    (
        324017,
        "Log compression failed: the selected aircraft logs are unavailable; refresh or "
        "restart the dock",
        "日志压缩失败：取不到所选飞行器的日志，请刷新或重启机场",
    ),
    (
        324018,
        "Fetching log files failed, the issue report was not uploaded; retry or restart the dock",
        "日志文件拉取出错，异常反馈没传上去；请再试或重启机场",
    ),
    (
        324019,
        "Log upload failed because of the dock's network; retry, and have the network "
        "checked if it repeats",
        "机场网络出问题导致日志上传失败，请稍后再试；反复出现请排查网络",
    ),
    (
        324021,
        "Log export interrupted by dock power loss or reboot; retry",
        "机场断电或重启打断了日志导出，请稍后再试",
    ),
    (
        324030,
        "Media cannot upload yet (network or video link problem), or the cloud could not "
        "read an uploaded file",
        "媒体文件暂时传不上去（网络或图传链路出问题），或已上传但云端读不到",
    ),
    (
        324031,
        "Media upload priority not set: commands sent too fast (Demo)",
        "媒体上传优先级没设上：指令发得太快",
    ),
    (
        324032,
        "Media upload priority not set: bad parameter (Demo)",
        "媒体上传优先级没设上：参数有误",
    ),
    # 325 command acceptance
    (
        325001,
        "The cloud's command has an invalid format; the device cannot execute it",
        "云端发来的指令格式不对，设备执行不了",
    ),
    (325003, "Command response failed; retry", "指令响应出错，请再试"),
    (325004, "The device's request timed out; retry", "设备端请求超时，请再试"),
    (325005, "The dock cannot take the task now; retry later", "机场暂时接不了任务，请稍后再试"),
    (325006, "The dock is running its start-up check; retry later", "机场正在开机自检，请稍后再试"),
    (325007, "The dock is running a task; retry later", "机场正在执行作业任务，请稍后再试"),
    (
        325008,
        "The dock is processing a task result; retry later",
        "机场正在处理作业结果，请稍后再试",
    ),
    (325009, "The dock is exporting remote logs; retry later", "机场正在导出远程日志，请稍后再试"),
    (
        325010,
        "The dock is updating custom flight areas; retry later",
        "机场正在更新自定义飞行区，请稍后再试",
    ),
    (
        325011,
        "The dock is updating the offline map; retry later",
        "机场正在更新离线地图，请稍后再试",
    ),
    (325012, "The aircraft is not connected; retry later", "飞行器没连上，请稍后再试"),
    # 326 cellular (4G / eSIM)
    (326002, "The aircraft has no DJI Cellular module", "飞行器上没装 DJI Cellular 模块"),
    (
        326003,
        "No SIM card in the aircraft's DJI Cellular module",
        "飞行器的 DJI Cellular 模块里没插 SIM 卡",
    ),
    (
        326004,
        "The aircraft's DJI Cellular module must be upgraded before use",
        "飞行器的 DJI Cellular 模块必须先升级才能用",
    ),
    (
        326005,
        "4G enhanced transmission could not connect: check the 4G signal, and the data "
        "plan and APN with the carrier",
        "增强图传连不上：请检查 4G 信号，并向运营商核实流量套餐和 APN 设置",
    ),
    (
        326006,
        "Switching enhanced transmission failed; retry later",
        "增强图传开关切换出错，请稍后再试",
    ),
    (326007, "Command format wrong (Demo)", "指令格式不对"),
    (326008, "The dock has no DJI Cellular module", "机场上没装 DJI Cellular 模块"),
    (
        326009,
        "No SIM card in the dock's DJI Cellular module",
        "机场的 DJI Cellular 模块里没插 SIM 卡",
    ),
    (
        326010,
        "The dock's DJI Cellular module must be upgraded before use",
        "机场的 DJI Cellular 模块必须先升级才能用",
    ),
    (326103, "The eSIM is being activated; retry later", "eSIM 正在激活，请稍后再试"),
    (326104, "The eSIM is switching carrier; retry later", "eSIM 正在切换运营商，请稍后再试"),
    (
        326105,
        "The enhanced transmission module is switching mode; retry later",
        "增强图传模块正在切换模式，请稍后再试",
    ),
    (
        326106,
        "Enhanced transmission module fault; restart the device, contact DJI support if it "
        "persists",
        "增强图传模块出错，请重启设备；一直出现请联系大疆售后",
    ),
    (
        326107,
        "Activate the module's eSIM (device management > dock > maintenance) or insert a SIM card",
        "请在设备管理的机场运维里激活增强图传模块的 eSIM，或插上 SIM 卡后再试",
    ),
    (
        326108,
        "Cannot abort the flight set-up right now (flight_setup_abort)",
        "眼下不能取消起飞准备",
    ),
    (
        326109,
        "Cannot abort the flight set-up: the aircraft is already airborne",
        "飞行器已经起飞，不能取消起飞准备",
    ),
    # 327 control and payload
    (
        327000,
        "Parameter setting failed (return-home height); retry later",
        "参数没设上（返航高度），请稍后再试",
    ),
    (
        327001,
        "Parameter setting failed (lost-link action); retry later",
        "参数没设上（失联动作），请稍后再试",
    ),
    (327002, *_OBTAIN_CONTROL),
    (
        327003,
        "Could not obtain control (device offline); retry later",
        "没拿到控制权（设备离线），请稍后再试",
    ),
    (327004, "Dragging the view failed; retry", "拖动画面没成功，请再试"),
    (327005, "Double-tap to centre (AIM) failed", "双击画面居中没成功"),
    (327006, "Taking a photo failed", "拍照没成功"),
    (327007, "Starting the recording failed", "录像没能开始"),
    (327008, "Stopping the recording failed", "录像没能停止"),
    (327009, "Switching the camera mode failed", "相机模式没切过去"),
    (327010, "Zoom camera could not zoom", "变焦相机变焦没成功"),
    (327011, "IR camera could not zoom", "红外相机变焦没成功"),
    (
        327012,
        "Could not obtain control (device locked); retry later",
        "没拿到控制权（设备已锁定），请稍后再试",
    ),
    (
        327013,
        "Parameter setting failed (wayline lost-link action); retry later",
        "参数没设上（航线失联动作），请稍后再试",
    ),
    (327014, "The gimbal is at its limit", "云台已经转到限位"),
    (
        327015,
        "Livestream failed to start; refresh the stream or reopen the device window",
        "直播没能启动，请刷新直播或重新打开设备小窗",
    ),
    (327016, "Setting the lost-link action failed; retry", "失联动作没设上，请再试"),
    (327017, "Setting the fly-to height failed; retry", "指点飞行高度没设上，请再试"),
    (327018, "Switching the fly-to mode failed; retry", "指点飞行模式没切过去，请再试"),
    (327019, "Cannot look at the marked point in the current state", "眼下的状态没法朝向标注点"),
    (327020, "Panorama stop command timed out", "停止全景拍照的指令超时"),
    (
        327022,
        "Stopping the panorama is not possible in the current state",
        "眼下的状态不能停止全景拍照",
    ),
    (327050, "The device state does not allow audio playback", "设备眼下的状态不能播放音频"),
    (327051, "Downloading the audio file failed", "音频文件没下载下来"),
    (327052, "Switching the speaker processing mode failed", "喊话器处理模式没切过去"),
    (327053, "Uploading the audio file failed", "音频文件没传上去"),
    (327054, "Playing the audio failed", "音频没能播放"),
    (327055, "Setting the working mode failed", "工作模式没设上"),
    (327056, "Uploading the text failed", "文本没传上去"),
    (327057, "Stopping playback failed", "播放没能停止"),
    (327058, "Setting the play mode failed", "播放模式没设上"),
    (327059, "Setting the volume failed", "音量没设上"),
    (327060, "Setting the widget value failed", "控件值没设上"),
    (327061, "Sending the text value failed", "文本值没发出去"),
    (327062, "Switching the system language failed", "系统语言没切过去"),
    (327063, "Reading the device's function list failed", "读取设备功能列表出错"),
    (327064, "Reading the device's configuration file failed", "读取设备配置文件出错"),
    (327065, "Reading the device's image files failed", "读取设备图片文件出错"),
    (327066, "Compressing device files failed", "设备文件压缩出错"),
    (327067, "Uploading device files failed", "设备文件没传上去"),
    (327068, "Audio upload failed: MD5 check did not pass", "音频上传失败：MD5 校验没通过"),
    (327069, "Audio upload failed", "音频上传没成功"),
    (327070, "Audio upload was aborted abnormally", "音频上传中途异常中止"),
    (327071, "TTS text upload failed: MD5 check did not pass", "TTS 文本上传失败：MD5 校验没通过"),
    (327072, "TTS text upload failed", "TTS 文本上传没成功"),
    (327073, "TTS text upload was aborted abnormally", "TTS 文本上传中途异常中止"),
    (327074, "Speaker replay failed", "喊话器重播没成功"),
    (327075, "Speaker encoding failed", "喊话器编码出错"),
    (327201, "Panorama failed", "全景拍照没成功"),
    (327202, "Panorama stopped", "全景拍摄被中止"),
    (327203, "This device does not support panoramas", "这台设备不支持全景拍照"),
    (327204, "System busy: panorama not possible", "系统忙，拍不了全景"),
    (327205, "Request failed: panorama not possible", "请求没成功，拍不了全景"),
    (
        327206,
        "The aircraft is not airborne: panorama cannot start",
        "飞行器还没起飞，全景拍摄开始不了",
    ),
    (327207, "Control authority lost: panorama stopped", "没拿到控制权，全景拍摄中止"),
    (327208, "Unknown camera error: panorama cannot start", "相机出现未知错误，全景拍摄开始不了"),
    (327209, "Camera timed out: panorama stopped", "相机超时，全景拍摄中止"),
    (327210, "Panorama not possible", "拍不了全景"),
    (327211, "Storage full: panorama stopped", "存储空间不够，全景拍摄中止"),
    (327212, "The aircraft is moving: panorama cannot start", "飞行器在移动，全景拍摄开始不了"),
    (327213, "The gimbal is moving: panorama cannot start", "云台在转动，全景拍摄开始不了"),
    (327214, "The user moved the sticks: panorama stopped", "用户拨了摇杆，全景拍摄中止"),
    (327215, "A GEO zone was reached: panorama stopped", "碰到限飞区，全景拍摄中止"),
    (327216, "The distance limit was reached: panorama stopped", "碰到限远距离，全景拍摄中止"),
    (327217, "The gimbal is obstructed: panorama stopped", "云台被挡住，全景拍摄中止"),
    (327218, "A photo failed: panorama stopped", "拍照出错，全景拍摄中止"),
    (327219, "Panorama stitching failed", "全景图拼接出错"),
    (
        327220,
        "Loading calibration parameters failed: panorama stopped",
        "标定参数加载出错，全景拍摄中止",
    ),
    (
        327221,
        "Adjusting camera parameters failed: panorama stopped",
        "相机参数调整出错，全景拍摄中止",
    ),
    (327500, "Lens defogging failed; retry later", "镜头除雾没成功，请稍后再试"),
    # 328 real-name registration
    (
        328051,
        "The aircraft is not real-name registered: connect an RC and complete the "
        "registration before flying",
        "飞行器还没实名登记：请连上遥控器，按提示完成登记后再飞",
    ),
    (
        328052,
        "The aircraft's real-name registration was cancelled: register again via the RC",
        "飞行器的实名登记已被注销：请连上遥控器重新登记后再飞",
    ),
    # 336 fly-to
    (336000, "The fly-to command could not be sent; retry", "指点飞行指令没发出去，请再试"),
    (336001, "Aircraft data abnormal; command not accepted", "飞行器数据异常，不响应指令"),
    (336002, "Aircraft GPS signal weak", "飞行器 GPS 信号弱"),
    (336003, "Aircraft positioning invalid; command not accepted", "飞行器定位失效，不响应指令"),
    (336004, "Fly-to path planning failed", "指点飞行的自主规划出错"),
    (336005, "The aircraft's home point is not updated", "飞行器的返航点没有更新"),
    (336006, "The aircraft lost its link; fly-to ended", "飞行器失联，指点飞行已退出"),
    (336017, "Battery not enough for this task", "电量不够完成当前任务"),
    (336018, "The aircraft's planning mode was switched", "飞行器的规划模式已切换"),
    (
        336019,
        "Fly-to height was adjusted automatically because of the height limit",
        "受限高影响，指点飞行高度已自动调整",
    ),
    (336513, *_NO_FLY),
    (336514, "Target point beyond the distance limit", "目标点超出了限远距离"),
    (336515, *_NO_FLY),
    (336516, "Target point above the height limit", "目标点高过了限高"),
    (336517, "Target point below the minimum height", "目标点低于最低高度限制"),
    # 337 take-off and command flight
    (337025, "The aircraft cannot take off", "飞行器起飞不了"),
    (337026, "Target point invalid; retry", "目标点有误，请再试"),
    (337027, "Speed setting invalid; retry", "速度设置有误，请再试"),
    (337028, "Aircraft firmware version problem; check it", "飞行器固件版本有问题，请检查"),
    (
        337029,
        "The aircraft cannot take this task now; retry later",
        "飞行器暂时接不了这个任务，请稍后再试",
    ),
    (
        337030,
        "Safe take-off height for command flight is too low",
        "指令飞行的安全起飞高度设得太低",
    ),
    (337537, *_TOUCH_NO_FLY),
    (337538, "Reached the distance limit", "飞行器碰到了限远距离"),
    (337539, *_TOUCH_NO_FLY),
    (337540, "Reached the height limit or an altitude-limited zone", "飞行器碰到了限高或限高区"),
    (337541, "Reached the minimum height", "飞行器碰到了最低高度限制"),
    (337542, "Take-off failed; retry", "起飞没成功，请再试"),
    (
        337543,
        "Target point may be inside an obstacle; check the surroundings",
        "目标点可能在障碍物里，请检查周边环境",
    ),
    (337544, "Obstacle detected; check the surroundings", "探测到障碍物，请查看周围环境"),
    (337545, "Aircraft planning error; retry", "飞行器规划出错，请再试"),
    (337546, "Reached a custom flight area boundary", "飞行器碰到了自定义飞行区边界"),
    # 338 aircraft link and landing dock
    (338001, *_AIRCRAFT_COMMS),
    (338002, *_AIRCRAFT_COMMS),
    (338003, *_AIRCRAFT_COMMS),
    (338004, *_AIRCRAFT_COMMS),
    (
        338005,
        "Take-off and landing docks are more than 15 km apart; pick two docks within 15 km",
        "起飞机场和降落机场相距超过 15 km，请选两个相距不到 15 km 的机场",
    ),
    (
        338006,
        "Cannot fly: check the landing dock has an unlock licence and is not in a custom "
        "no-fly zone or outside the custom flight area",
        "任务执行不了：请检查降落机场是否申请了解禁证书、是否在自定义禁飞区里或自定义飞行区外",
    ),
    (
        338007,
        "The landing dock is above an altitude-limited zone's limit; apply for an unlock licence",
        "降落机场的位置高过了限高区高度，请申请解禁证书后再试",
    ),
    (
        338008,
        "The landing dock is above the aircraft's height limit; raise the limit",
        "降落机场的位置高过了飞行器设定的限高，请调整限高后再试",
    ),
    (338009, "Aircraft GPS weak; restart the aircraft", "飞行器 GPS 信号弱，请重启飞行器后再试"),
    (
        338010,
        "Aircraft positioning invalid; restart the aircraft",
        "飞行器定位失效，请重启飞行器后再试",
    ),
    (
        338011,
        "Task failed: the target dock is outside the geo-caging area; re-plan",
        "任务失败：目标机场在地理围栏作业区外，请重新规划",
    ),
    (338017, *_AIRCRAFT_DATA),
    (338018, *_AIRCRAFT_DATA),
    (
        338019,
        "The route home to the target dock is still being planned; restart the aircraft",
        "飞往目标机场的返航路线还在规划，请重启飞行器后再试",
    ),
    (
        338020,
        "The aircraft cannot reach the target landing dock on the planned path; choose "
        "another dock",
        "按规划的路径飞行器到不了目标降落机场，请换个降落机场",
    ),
    (
        338021,
        "Battery not enough to reach the target landing dock; charge it",
        "眼下电量不够飞到目标降落机场，请给飞行器充电后再试",
    ),
    (338049, "RC stick input: fly-to ended", "遥控器有打杆，指点飞行已退出"),
    (338050, "Stop command received: fly-to ended", "收到终止指令，指点飞行已退出"),
    (338051, "Low-battery return home: fly-to ended", "低电量返航，指点飞行已退出"),
    (338052, "Low-battery landing: fly-to ended", "低电量降落，指点飞行已退出"),
    (338053, "Manned aircraft nearby: fly-to ended", "附近有载人飞机，指点飞行已退出"),
    (
        338054,
        "A higher-priority task took over: fly-to ended",
        "有优先级更高的任务，指点飞行已退出",
    ),
    (338255, *_AIRCRAFT_COMMS),
    # 341 dock location
    (
        341002,
        "Dock position not converged; wait until it converges and retry",
        "机场位置还没收敛，请等收敛后再试",
    ),
    # 513 livestream (dock) — DJI docs; other live codes are decoded through _LIVE
    (
        513002,
        "Live failed: camera missing or of the wrong type",
        "直播没成功：相机不存在或类型不对",
    ),
    (
        513003,
        "This camera is already live; do not start it again",
        "这个相机已经在直播，不要重复开启",
    ),
    (513005, "Live failed: wrong quality (resolution) parameter", "直播没成功：清晰度参数设得不对"),
    (513006, "Live failed to start; refresh and retry", "直播没能启动，请刷新后再试"),
    (513008, "Live failed: the device's video data is abnormal", "直播没成功：设备端图传数据异常"),
    (513010, "Live failed: the device has no network", "直播没成功：设备连不上网"),
    (513011, "Refused: the device is not streaming", "操作不成功：设备并没有在直播"),
    (
        513012,
        "Refused: already live, lens switching not supported",
        "操作不成功：已经在直播，不支持切镜头",
    ),
    (
        513013,
        "Live failed: stream transport protocol not supported",
        "直播没成功：不支持所用的视频传输协议",
    ),
    (513014, "Live failed: parameters wrong or incomplete", "直播没成功：参数有误或不全"),
    (
        513015,
        "Live degraded: network stutter; refresh and retry",
        "直播异常：网络卡顿，请刷新后再试",
    ),
    (513016, "Live degraded: video decoding failed", "直播异常：视频解码出错"),
    (
        513017,
        "Live paused while aircraft media download; wait for it to finish",
        "直播已暂停：飞行器媒体文件正在下载，请等下载完再试",
    ),
    (513099, "Live failed; retry later", "直播没成功，请稍后再试"),
    # 514 dock hardware and state
    (514100, "Dock fault; restart the dock", "机场运行出错，请重启机场"),
    (
        514101,
        "Driving rods could not close: check the pad for objects and the aircraft's "
        "orientation, or restart the dock",
        "推杆合不拢：检查停机坪上有没有异物、飞行器是否放反，或重启机场",
    ),
    (
        514102,
        "Driving rods could not open: check the pad for objects, or restart the dock",
        "推杆展不开：检查停机坪上有没有异物，或重启机场",
    ),
    (514103, *_BATTERY_30),
    (
        514104,
        "Battery charging could not start; restart the dock",
        "飞行器电池充不上电，请重启机场",
    ),
    (
        514105,
        "Battery charging could not stop; restart the dock",
        "飞行器电池停不了充电，请重启机场",
    ),
    (514106, "Aircraft power control fault; restart the dock", "飞行器电源控制出错，请重启机场"),
    (
        514107,
        "The cover could not open: check around it for objects, or restart the dock",
        "舱盖打不开：检查舱盖周围有没有异物，或重启机场",
    ),
    (
        514108,
        "The cover could not close: check around it for objects, or restart the dock",
        "舱盖关不上：检查舱盖周围有没有异物，或重启机场",
    ),
    (
        514109,
        "The aircraft did not power on: check it is in the dock and its battery is fine, "
        "or restart the dock",
        "飞行器开不了机：检查它是否在舱内、电量是否正常，或重启机场",
    ),
    (514110, "The aircraft did not power off; restart the dock", "飞行器关不了机，请重启机场"),
    (514111, *_PROP_STOW),
    (514112, *_PROP_STOW),
    (514113, "The " + _ROD_CONTACT[0], _ROD_CONTACT[1]),
    (
        514114,
        "Could not read the aircraft's power state; restart the dock",
        "读取飞行器电源状态出错，请重启机场",
    ),
    (
        514116,
        "The dock is executing another control command; retry later",
        "机场正在执行别的控制指令，请稍后再试",
    ),
    (
        514117,
        "The cover did not fully open or close; restart the dock",
        "舱盖开合不到位，请重启机场",
    ),
    (
        514118,
        "The driving rods did not fully open or close; restart the dock",
        "推杆开合不到位，请重启机场",
    ),
    (
        514120,
        "Dock and aircraft disconnected; restart the dock or pair them again",
        "机场和飞行器断连了，请重启机场或重新对频",
    ),
    (514121, "The dock's emergency stop is pressed; release it", "机场急停按钮被按下了，请松开"),
    (
        514122,
        "Could not read the aircraft's charging state; restart the dock",
        "读取飞行器充电状态出错，请重启机场",
    ),
    (514123, "Battery too low to power the aircraft on", "飞行器电池电量太低，开不了机"),
    (
        514124,
        "Could not read the aircraft's battery information, task cannot run; restart the dock",
        "读取飞行器电池信息出错，任务无法执行，请重启机场",
    ),
    (
        514125,
        "Battery nearly full: charging only starts below 95 %",
        "飞行器电池快满了，不能开始充电（低于 95% 才能充）",
    ),
    (
        514134,
        "Rain too heavy for the dock to fly; retry later",
        "雨太大，机场无法执行飞行任务，请稍后再试",
    ),
    (
        514135,
        "Wind too strong for the dock to fly; retry later",
        "风太大，机场无法执行飞行任务，请稍后再试",
    ),
    (
        514136,
        "The dock's power supply is cut; restore it and retry",
        "机场断电了，请恢复供电后再试",
    ),
    (
        514137,
        "Ambient temperature below −20 °C (−4 °F); retry later",
        "环境温度低于 -20℃（-4°F），机场无法执行任务，请稍后再试",
    ),
    (
        514138,
        "Aircraft battery maintenance in progress; wait for it to finish",
        "飞行器电池正在保养，请等保养结束后再试",
    ),
    (
        514139,
        "Battery maintenance refused: the battery needs no maintenance",
        "飞行器电池不需要保养，保养指令未执行",
    ),
    (
        514140,
        "Battery maintenance refused: the battery needs no maintenance (Demo: setting the "
        "battery storage mode failed)",
        "飞行器电池不需要保养，保养指令未执行（Demo：电池存储模式设置出错）",
    ),
    (514141, "Dock system error; restart the dock", "机场系统运行出错，请重启机场"),
    (514142, "Before take-off the " + _ROD_CONTACT[0], "起飞前" + _ROD_CONTACT[1]),
    (
        514143,
        "Driving rods not (fully) closed; retry later or restart the dock",
        "推杆没合拢或没合到位，请稍后再试或重启机场",
    ),
    (
        514144,
        "Cover not (fully) closed; retry later or restart the dock",
        "舱盖没关或没关到位，请稍后再试或重启机场",
    ),
    (
        514145,
        "The dock is in on-site debugging: unplug the RC's data cable from the dock and retry",
        "机场处于现场调试：请拔掉遥控器与机场之间的数据线后再试",
    ),
    (
        514146,
        "The dock is in remote debugging: leave remote debugging to fly",
        "机场处于远程调试，请先退出远程调试再执行任务",
    ),
    (
        514147,
        "The device is upgrading: no remote debugging or tasks until it finishes",
        "设备正在升级，暂时不能远程调试或执行任务，请等升级完成",
    ),
    (
        514148,
        "The dock is already working: no remote debugging or new task until it finishes",
        "机场正在作业，暂时不能远程调试或再次执行任务，请等当前任务完成",
    ),
    (
        514149,
        "Dock system error, the task cannot run; restart the dock",
        "机场系统运行出错，任务无法执行，请重启机场",
    ),
    (514150, "The device is rebooting; wait until it is back", "设备正在重启，请等重启完成后再试"),
    (
        514151,
        "The device is upgrading: reboot refused until it finishes",
        "设备正在升级，暂时不能重启，请等升级完成",
    ),
    (
        514153,
        "The dock has left remote debugging mode; operation refused",
        "机场已经退出远程调试模式，这项操作执行不了",
    ),
    (
        514154,
        "Could not read the inner-loop air outlet temperature; retry later",
        "读取内循环出风口温度出错，请稍后再试",
    ),
    (
        514155,
        "The aircraft is not in the dock; put it back",
        "飞行器不在舱内，任务无法执行，请把它放回机场",
    ),
    (
        514156,
        "The aircraft is not in the dock: check it landed safely and put it back",
        "飞行器不在舱内：请马上确认它是否安全降落，并放回机场",
    ),
    (
        514157,
        "Power-on failed: the wireless charging coil is busy; restart the dock",
        "开机没成功：无线充电线圈正忙，请重启机场后再试",
    ),
    (
        514158,
        "Cannot take off: the dock's RTK service is faulty; restart the dock",
        "无法起飞：机场 RTK 服务出错，请重启机场后再试",
    ),
    (
        514159,
        "Task failed: the landing dock already holds an aircraft; clear it first",
        "任务失败：降落机场里已经有飞行器，请先腾空再试",
    ),
    (
        514162,
        "Aircraft–dock connection failed; close the cover or restart the dock",
        "飞行器与机场连不上，请关上舱盖或重启机场后再试",
    ),
    (
        514163,
        "Battery fault: make sure the battery is fully inserted, or restart the aircraft",
        "电池功能异常：请确认电池插到位，或重启飞行器后再试",
    ),
    (514164, *_REBOOT_FAILED),
    (514165, *_REBOOT_FAILED),
    (
        514168,
        "The dock is not calibrated; calibrate it before flying",
        "机场还没标定，无法执行飞行任务，请先标定",
    ),
    (514170, "The dock system is initialising; wait for it", "机场系统还在初始化，请等完成后再试"),
    (
        514171,
        "The cloud's command to the dock has an invalid format",
        "云端发给机场的指令格式不对，机场执行不了",
    ),
    (
        514172,
        "The aircraft cannot power off: Bluetooth not connected; restart both or pair them "
        "again on site",
        "飞行器关不了机：蓝牙没连上；请重启飞行器和机场，或到现场重新对频",
    ),
    (
        514173,
        "Icing risk (below 5 °C with moderate rain or more): tasks suspended",
        "有桨叶结冰风险（气温低于 5℃ 且雨量达到中雨及以上），暂不执行任务",
    ),
    (
        514174,
        "Charging failed: the cover did not fully open or close; close it and retry",
        "充电没成功：舱盖开合不到位，请关上舱盖后再试",
    ),
    (
        514180,
        "Stopping air-conditioner cooling or heating failed; retry later",
        "空调停止制冷或制热没成功，请稍后再试",
    ),
    (
        514181,
        "Starting air-conditioner cooling failed; retry later",
        "空调制冷没能开启，请稍后再试",
    ),
    (
        514182,
        "Starting air-conditioner heating failed; retry later",
        "空调制热没能开启，请稍后再试",
    ),
    (
        514183,
        "Starting air-conditioner dehumidifying failed; retry later",
        "空调除湿没能开启，请稍后再试",
    ),
    (514184, "Below 0 °C (32 °F): cooling cannot start", "温度低于 0℃（32°F），空调不能制冷"),
    (514185, "Above 45 °C (113 °F): heating cannot start", "温度高于 45℃（113°F），空调不能制热"),
    (514300, "DRC link: gateway (MQTT) error", "DRC 链路：网关（MQTT）出错"),
    (514301, "DRC link: heartbeat timed out, disconnected", "DRC 链路：心跳超时，已断开"),
    (514302, "DRC link: certificate error, connection failed", "DRC 链路：证书有问题，没连上"),
    (514303, "DRC link: network lost, disconnected", "DRC 链路：网络出问题，已断开"),
    (514304, "DRC link: connection refused", "DRC 链路：连接被拒绝"),
    # 2xxxxx platform side (Demo SDK-internal and sample application; never from a device)
    (200001, "Illegal argument (reference platform)", "参数不合法"),
    (201404, "Requested data not found (reference platform)", "请求的数据不存在"),
    (210001, "Device not registered with the station", "设备没有在地面站注册"),
    (210002, "Invalid parameter", "参数无效"),
    (210003, "Not supported for this device type", "这种设备类型不支持该功能"),
    (210004, "Not supported by this device's firmware version", "这个设备版本不支持该功能"),
    (210005, "Function not supported", "不支持该功能"),
    (210230, "The binding code matches no organization", "绑定码找不到对应的组织"),
    (210231, "Device binding failed", "设备绑定没成功"),
    (
        210232,
        "The device is already bound to another organization",
        "设备已绑定到其他组织，不能重复绑定",
    ),
    (210233, "Could not read the device binding status", "读取设备绑定状态出错"),
    (211001, "Message not delivered or no reply in time", "消息没发出去或没按时收到回复"),
    (212001, "WebSocket send failed", "WebSocket 消息没发出去"),
    (212015, "The device is offline", "设备离线"),
    (212016, "The device is not ready for this command", "设备当前不满足执行该指令的条件"),
    (212017, "This command needs an explicit confirmation", "该指令需要明确确认"),
    (220001, "Data exceeds the limit", "数据超出限制"),
    (299999, "Internal station error", "地面站内部出错"),
)

# Livestream errors by their last five digits (Demo LiveErrorCodeEnum, §7.4).
LIVE: Final[dict[int, tuple[str, str]]] = {
    13001: ("Live: no aircraft", "直播：没有飞行器"),
    13002: ("Live: no camera", "直播：没有相机"),
    13003: ("Live: this camera is already streaming", "直播：这个相机已经在推流"),
    13004: ("Live: function not supported", "直播：不支持该功能"),
    13005: ("Live: streaming strategy not supported", "直播：不支持该推流策略"),
    13006: ("Live: the Pilot app is not on the camera view", "直播：Pilot 没停在相机界面"),
    13007: (
        "Live: the RC has no flight control and cannot take control commands",
        "直播：遥控器没有飞行控制权，不能响应控制指令",
    ),
    13008: ("Live: the app has no stream data", "直播：应用端没有视频流数据"),
    13009: ("Live: operation too frequent", "直播：操作太频繁"),
    13010: (
        "Live: start failed; check the streaming service",
        "直播：开启没成功，请检查直播服务是否正常",
    ),
    13011: ("Live: no stream is running", "直播：眼下没有在推流"),
    13012: (
        "Live: another camera is already streaming; direct switching not supported",
        "直播：已有别的相机在推流，不支持直接切换",
    ),
    13013: ("Live: URL type not supported", "直播：不支持该 URL 类型"),
    13014: ("Live: parameters abnormal or incomplete", "直播：参数异常或不全"),
    13015: ("Live: network congested; check the network", "直播：网络拥塞，请检查网络"),
    13016: ("Live: decoding failed", "直播：解码出错"),
    13099: ("Live: unknown error inside the device", "直播：设备内部未知错误"),
}
