// Package kerberos generates deterministic Zeek kerberos.log traffic for an Active Directory
// domain, with attacks planted at known hosts and times, so the Kerberos host model and the
// processors can be tested end to end on data whose ground truth is known.
//
// The domain has domain controllers (the KDCs), workstations with one primary user each, file
// and application servers (applications run under service accounts with SPNs), and terminal
// servers many users log on to. Normal behaviour follows a working day:
//
//   - A workstation boots (or is always on), its machine account gets a TGT (AS, first answered
//     KDC_ERR_PREAUTH_REQUIRED as Windows clients always are) and refreshes group policy with
//     TGS requests every 90 minutes or so. Its user logs on in the morning, sometimes mistyping
//     the password (KDC_ERR_PREAUTH_FAILED), and requests service tickets for a personal set of
//     services at a few per hour until leaving; SMB access to file servers also appears as AP
//     exchanges answered by the file server.
//   - Application servers request tickets for their back ends around the clock under service
//     accounts; one runs a scheduled task with a stale password that fails a few times an hour,
//     and two legacy SPNs only have RC4 keys, so every ticket for them is RC4.
//   - Terminal servers see dozens of users log on over the day.
//   - Domain controllers request replication tickets from each other.
//
// Planted attacks run on randomly chosen workstations, on top of their normal traffic:
//
//   - Spray: AS requests for many accounts with one password, from one host: PREAUTH_FAILED
//     for the accounts that exist, C_PRINCIPAL_UNKNOWN for the guessed names that do not.
//   - Kerberoast: TGS requests for many service accounts' SPNs within a couple of minutes,
//     RC4-encrypted, as Rubeus or GetUserSPNs do.
//   - BruteForce: many PREAUTH_FAILED AS requests for one account.
//
// Everything is a pure function of Config: the same Config gives the same records, byte for
// byte once written as Zeek JSON or TSV.
package kerberos
