; Inno Setup 6 script of the Windows installer (per user, no administrator rights needed).
;
;   iscc /DAppVersion=0.1.0 /DSourceDir=dist\gcs-0.1.0-windows-x64 /DIconFile=build\...\gcs.ico
;        /DOutputDir=dist /DOutputBase=gcs-0.1.0-windows-x64-setup packaging\windows\gcs.iss
;
; (packaging/build.sh passes these.) The installer copies the PyInstaller folder into
; %LOCALAPPDATA%\Programs\GCS Station, adds Start-menu entries, and offers to open Windows
; Firewall for the station (one rule for gcs.exe, private and domain networks): that step
; alone asks for administrator consent (UAC), because Windows lets only administrators change
; the firewall. Uninstalling keeps the station's data folder (%LOCALAPPDATA%\gcs: settings,
; database, media) unless the user says to delete it.

#ifndef AppVersion
  #error Pass /DAppVersion=X.Y.Z (packaging/build.sh does)
#endif
#ifndef SourceDir
  #error Pass /DSourceDir=<the PyInstaller onedir folder>
#endif
#ifndef OutputDir
  #define OutputDir "."
#endif
#ifndef OutputBase
  #define OutputBase "gcs-" + AppVersion + "-windows-x64-setup"
#endif

#define AppName "GCS Station"
#define AppExe "gcs-station.exe"
#define ConsoleExe "gcs.exe"
#define FirewallRule "GCS Station"

[Setup]
AppId={{6C1F3B7E-5D0A-4F5B-9C55-2B8E0C4A9D17}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=GCS
DefaultDirName={localappdata}\Programs\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename={#OutputBase}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\{#AppExe}
InfoBeforeFile={#SourceDir}\THIRD-PARTY.md
#ifdef IconFile
SetupIconFile={#IconFile}
#endif

[Languages]
Name: "en"; MessagesFile: "compiler:Default.isl"
Name: "zh"; MessagesFile: "compiler:Languages\ChineseSimplified.isl"

[CustomMessages]
en.FirewallTask=Open Windows Firewall for the station (asks for administrator consent)
zh.FirewallTask=为地面站打开 Windows 防火墙（需要管理员同意）
en.FirewallGroup=Network:
zh.FirewallGroup=网络：
en.FirewallReason=DJI docks and DJI Pilot 2 remote controllers on your network connect to this computer: MQTT (TCP 1883), the Pilot web pages and API (HTTP 8080, HTTPS 8443), the object store for photos and videos (TCP 9000), time (NTP, UDP 123 or 11123) and live video (RTMP, TCP 1935). Without this rule Windows blocks them. The rule allows only the station program, on private and domain networks (not public Wi-Fi). Ports can be changed later in the station's settings.
zh.FirewallReason=局域网中的大疆机场和 DJI Pilot 2 遥控器需要连接到这台电脑：MQTT（TCP 1883）、Pilot 网页与接口（HTTP 8080、HTTPS 8443）、照片和视频的对象存储（TCP 9000）、时间同步（NTP，UDP 123 或 11123）以及直播视频（RTMP，TCP 1935）。没有这条规则，Windows 会阻止这些连接。规则只放行地面站程序，且仅用于专用网络和域网络（不包括公共 Wi-Fi）。端口可以稍后在地面站设置中修改。
en.DesktopIcon=Create a desktop shortcut
zh.DesktopIcon=创建桌面快捷方式
en.Headless=GCS Station (headless server)
zh.Headless=GCS 地面站（无界面服务）
en.Licences=Third-party licences
zh.Licences=第三方许可
en.DeleteData=Also delete the station's data (settings, device database, photos and videos) in %1?%n%nChoose No to keep it for a later installation.
zh.DeleteData=是否同时删除地面站数据（设置、设备数据库、照片和视频），位于 %1？%n%n选择"否"可保留数据供以后安装使用。

[Tasks]
Name: "firewall"; Description: "{cm:FirewallTask}"; GroupDescription: "{cm:FirewallGroup}"
Name: "desktopicon"; Description: "{cm:DesktopIcon}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"
Name: "{group}\{cm:Headless}"; Filename: "{app}\{#ConsoleExe}"; Parameters: "serve"; WorkingDir: "{app}"
Name: "{group}\{cm:Licences}"; Filename: "{app}\THIRD-PARTY.md"
Name: "{group}\{cm:UninstallProgram,{#AppName}}"; Filename: "{uninstallexe}"
Name: "{userdesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
; Inbound rules for the programs (every port they listen on, TCP and UDP), so a port changed in
; the settings keeps working; netsh deletes every rule of that name first and at uninstall.
; "runas" shows the UAC prompt; refusing it only skips the rules.
Filename: "{sys}\netsh.exe"; Parameters: "advfirewall firewall delete rule name=""{#FirewallRule}"""; Verb: "runas"; Flags: shellexec runhidden waituntilterminated skipifdoesntexist; Tasks: firewall; StatusMsg: "{cm:FirewallTask}"
Filename: "{sys}\netsh.exe"; Parameters: "advfirewall firewall add rule name=""{#FirewallRule}"" dir=in action=allow program=""{app}\{#AppExe}"" enable=yes profile=private,domain"; Verb: "runas"; Flags: shellexec runhidden waituntilterminated; Tasks: firewall; StatusMsg: "{cm:FirewallTask}"
; gcs.exe: the embedded broker (MQTT) runs as its child process, and `gcs serve` headless.
Filename: "{sys}\netsh.exe"; Parameters: "advfirewall firewall add rule name=""{#FirewallRule}"" dir=in action=allow program=""{app}\{#ConsoleExe}"" enable=yes profile=private,domain"; Verb: "runas"; Flags: shellexec runhidden waituntilterminated; Tasks: firewall; StatusMsg: "{cm:FirewallTask}"
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallRun]
Filename: "{sys}\netsh.exe"; Parameters: "advfirewall firewall delete rule name=""{#FirewallRule}"""; Verb: "runas"; Flags: shellexec runhidden waituntilterminated; RunOnceId: "DelFirewallRule"

[Code]
var
  FirewallPage: TOutputMsgWizardPage;

procedure InitializeWizard;
begin
  { The reason is shown before the user picks the firewall task. }
  FirewallPage := CreateOutputMsgPage(wpSelectDir, ExpandConstant('{cm:FirewallTask}'),
    ExpandConstant('{cm:FirewallGroup}'), ExpandConstant('{cm:FirewallReason}'));
end;

function DataDir: String;
begin
  { platformdirs.user_data_dir("gcs", appauthor=False) on Windows }
  Result := ExpandConstant('{localappdata}\gcs');
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if (CurUninstallStep = usPostUninstall) and DirExists(DataDir) then
  begin
    if SuppressibleMsgBox(FmtMessage(CustomMessage('DeleteData'), [DataDir]),
        mbConfirmation, MB_YESNO or MB_DEFBUTTON2, IDNO) = IDYES then
    begin
      DelTree(DataDir, True, True, True);
      RegDeleteKeyIncludingSubkeys(HKCU, 'Software\gcs\gcs-station');
    end;
  end;
end;
