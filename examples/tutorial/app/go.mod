module github.com/podtemplate/podtemplate/examples/tutorial/app

go 1.22
