package main

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// writeCityMMDB writes a one-network GeoLite2-City-shaped database.
func writeCityMMDB(t *testing.T, path, cidr, country, city, region string) {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-City", RecordSize: 24, IPVersion: 6})
	if err != nil {
		t.Fatal(err)
	}
	_, network, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	en := func(s string) mmdbtype.Map { return mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(s)}} }
	rec := mmdbtype.Map{
		"country":      mmdbtype.Map{"iso_code": mmdbtype.String(country)},
		"city":         en(city),
		"subdivisions": mmdbtype.Slice{en(region)},
	}
	if err := w.Insert(network, rec); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
}

// TestServeGeoIP starts vigil serve with a geolocation database: events
// are enriched at ingest, private addresses are not.
func TestServeGeoIP(t *testing.T) {
	bin := buildVigil(t)
	dir := t.TempDir()
	mmdb := filepath.Join(dir, "city.mmdb")
	writeCityMMDB(t, mmdb, "81.2.69.0/24", "GB", "London", "England")
	data := filepath.Join(dir, "data")
	ingest, auditor := cliKey(t, bin, data, "ingest"), cliKey(t, bin, data, "auditor")
	addr := freeAddr(t)
	srv := startServe(t, exec.Command(bin, "serve", "--data", data, "--addr", addr, "--geoip", mmdb), addr)
	if !strings.Contains(srv.stderr.String(), "IP geolocation is on") {
		t.Fatalf("no word of geolocation at start:\n%s", srv.stderr.String())
	}
	for _, ip := range []string{"81.2.69.142", "10.1.2.3"} {
		if status, body := curl(t, "-X", "POST", "http://"+addr+"/api/v1/events", "-H", "Authorization: Bearer "+ingest,
			"-H", "Content-Type: application/json", "-d", `{"actor_id":"a","action":"geo","ip_address":"`+ip+`"}`); status != 201 {
			t.Fatalf("POST %d %s", status, body)
		}
	}
	_, body := curl(t, "http://"+addr+"/api/v1/events?action=geo", "-H", "Authorization: Bearer "+auditor)
	var list struct {
		Data []struct {
			IPAddress *string `json:"ip_address"`
			IPCountry *string `json:"ip_country"`
			IPCity    *string `json:"ip_city"`
			IPRegion  *string `json:"ip_region"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Data) != 2 {
		t.Fatalf("GET: %s", body)
	}
	private, public := list.Data[0], list.Data[1]
	if public.IPCountry == nil || *public.IPCountry != "GB" || *public.IPCity != "London" || *public.IPRegion != "England" {
		t.Fatalf("public address located as %s", body)
	}
	if private.IPCountry != nil || private.IPCity != nil {
		t.Fatalf("a private address was located: %s", body)
	}
}
