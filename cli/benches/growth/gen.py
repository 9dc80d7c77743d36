#!/usr/bin/env python3
import sys
# Writes the benchmark fixture of cli/benches (providers/benches/fixture) with N keys: gen.py N FILE
n=int(sys.argv[1]); out=[]
for i in range(n):
    m=i%5
    if m==0: out.append(f"SERVICE_{i}_TOKEN=tok_{i:08x}_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz\n")
    elif m==1: out.append(f"export DATABASE_URL_{i}=postgres://user{i}:pw@db-{i}.internal:5432/app?sslmode=require # primary\n")
    elif m==2: out.append(f"PASSWORD_{i}='pa$$w0rd#{i} with spaces and more text to pad the line out'\n")
    elif m==3: out.append(f"CERT_{i}=\"-----BEGIN-----\\nMIIB{i:x}ABCDEFGHIJKLMNOP\\nQRSTUVWXYZ\\n-----END-----\"\n")
    else: out.append(f"# group {i}: feature flags for the rollout of the new billing pipeline\nFLAG_{i}=true\n")
open(sys.argv[2],'w').write(''.join(out))
