// Command caddy is Caddy with its standard modules and firstparty.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/firstparty/firstparty/caddymodule"
)

func main() {
	caddycmd.Main()
}
