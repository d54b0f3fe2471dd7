import RMBCLI
