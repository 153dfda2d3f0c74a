// The on-screen keyboard's panel (tablet_client/views/keyboard_view.py).
import QtQuick
import QtQuick.VirtualKeyboard
import QtQuick.VirtualKeyboard.Settings

Item {
    id: root
    property string layout: "en_US"
    readonly property bool shown: panel.active
    readonly property real panelHeight: panel.height
    readonly property string activeLayout: InputContext.locale
    property real maxHeight: 0  // set by KeyboardView: a share of the window's height
    InputPanel {
        id: panel
        // The default style's keyboard is 3.2 times as wide as it is tall (2560 x 800).
        width: root.maxHeight > 0 ? Math.min(root.width, root.maxHeight * 3.2) : root.width
        anchors.horizontalCenter: parent.horizontalCenter
        anchors.bottom: parent.bottom
    }
    onLayoutChanged: VirtualKeyboardSettings.locale = layout
    Component.onCompleted: {
        VirtualKeyboardSettings.activeLocales = ["en_US", "vi_VN"]
        VirtualKeyboardSettings.locale = layout
    }
}
